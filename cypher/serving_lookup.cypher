// What a recommendation query needs to exist, to explain an empty answer: the active model's version (null
// when there is none), and for each of $user, $group, $item (null when not asked) whether the node exists,
// whether it has a vector in the active model, and for a group its number of members.
// Returns one row: version, items (the model's number of items), user, group, item (each null or {exists,
// has_vector}; group also {members}; item also {known}: it has a vector or item–item weights in the model, and
// {text}: it has a text vector in the model).
// Parameters: $user, $group, $item: ids or null.
:param user => 1;
:param group => null;
:param item => null;
OPTIONAL MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
OPTIONAL MATCH (u:User {id: $user})
OPTIONAL MATCH (g:Group {id: $group})
OPTIONAL MATCH (i:Item {id: $item})
RETURN m.version AS version, m.items AS items,
       CASE WHEN $user IS NOT NULL THEN {exists: u IS NOT NULL, has_vector: u[m.property] IS NOT NULL} END AS user,
       CASE WHEN $group IS NOT NULL THEN {exists: g IS NOT NULL, has_vector: g[m.property] IS NOT NULL,
            members: COUNT { (:User)-[:MEMBER_OF]->(g) }} END AS group,
       CASE WHEN $item IS NOT NULL THEN {exists: i IS NOT NULL, has_vector: i[m.property] IS NOT NULL,
            known: i[m.property] IS NOT NULL OR (m.similar IS NOT NULL AND EXISTS { (i)-[:$(m.similar)]->() }),
            text: i[m.text_property] IS NOT NULL}
       END AS item
