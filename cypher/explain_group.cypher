// Why item $item suits group $group under the active model:
// - members: every member's score for the item (inner product of trained vectors; null for a member without
//   one), highest first: the members who drive the pick come first;
// - group_score: the group's own score (null when the model has no vector for it);
// - because: the top member's own items most similar to the item (up to $n, cosine), each with co_users, the
//   number of other users who interacted with both;
// - path: group <- top member -> their most similar item shared with another user <- that user -> the item, else the shortest path
//   over INTERACTED and MEMBER_OF of at most 6 hops (Browser draws it); steps lists its nodes as {label, id};
// - interacted: whether the group already has the item.
// Returns one row: group, item, members, group_score, because, path, steps, interacted, version. No row when
// the group, a member, the item or an active model does not exist.
// Parameters: $group: group id; $item: item id; $n: integer >= 1.
:param group => 5001;
:param item => 1001;
:param n => 3;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (g:Group {id: $group})
MATCH (i:Item {id: $item})
MATCH (u:User)-[:MEMBER_OF]->(g)
WITH m, g, i, u, CASE WHEN u[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
                      THEN reduce(s = 0.0, x IN range(0, m.dim - 1) | s + u[m.property][x] * i[m.property][x]) END AS score
ORDER BY score IS NULL, score DESC, u.id
WITH m, g, i, collect(u) AS users, collect({user: u.id, score: score}) AS members
WITH m, g, i, users[0] AS top, members
CALL (m, top, i) {
    MATCH (top)-[:INTERACTED]->(j:Item) WHERE j <> i AND j[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
    WITH j, 2 * vector.similarity.cosine(j[m.property], i[m.property]) - 1 AS similarity
    ORDER BY similarity DESC, j.id
    LIMIT $n
    RETURN collect({item: j.id, similarity: similarity,
                    co_users: COUNT { (j)<-[:INTERACTED]-(v:User)-[:INTERACTED]->(i) WHERE v <> top }}) AS because
}
CALL (g, top, i, because) {
    OPTIONAL MATCH p = (g)<-[:MEMBER_OF]-(top)-[:INTERACTED]->(j:Item {id: [b IN because WHERE b.co_users > 0][0].item})<-[:INTERACTED]-(v:User)
                       -[:INTERACTED]->(i)
    WHERE v <> top
    RETURN p LIMIT 1
}
CALL (g, i, p) {
    UNWIND CASE WHEN p IS NULL THEN [1] ELSE [] END AS branch
    OPTIONAL MATCH shortest = shortestPath((g)-[:INTERACTED|MEMBER_OF*..6]-(i))
    RETURN shortest AS path
  UNION ALL
    UNWIND CASE WHEN p IS NULL THEN [] ELSE [1] END AS branch
    RETURN p AS path
}
RETURN g.id AS group, i.id AS item, members,
       CASE WHEN g[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
            THEN reduce(s = 0.0, x IN range(0, m.dim - 1) | s + g[m.property][x] * i[m.property][x]) END AS group_score,
       because, path, [n IN nodes(path) | {label: labels(n)[0], id: n.id}] AS steps,
       EXISTS { (g)-[:INTERACTED]->(i) } AS interacted, m.version AS version
