// Forget user $user: delete the User node with everything attached to it, its interactions (INTERACTED) and
// held-out cases (HELD_OUT, with their negatives), its memberships (MEMBER_OF) and every property it holds, the
// vectors of every model version included (the properties named with one of $prefixes, e.g. ~embedding_v1, ~embedding_v2).
// Returns one row when the user existed: interactions and memberships (how many were deleted), groups (the ids
// of the groups the user was a member of, ascending) and vectors (the names of the vector properties it held,
// sorted); no row when there is no such user. Parameters: $user: user id; $prefixes: list of property prefixes.
:param user => -1;
:param prefixes => ['~embedding_v'];
MATCH (u:User {id: $user})
WITH u, COUNT { (u)-[:INTERACTED|HELD_OUT]->() } AS interactions,
     COLLECT { MATCH (u)-[:MEMBER_OF]->(g:Group) RETURN g.id ORDER BY g.id } AS groups,
     COLLECT { UNWIND keys(u) AS key WITH key WHERE any(p IN $prefixes WHERE key STARTS WITH p)
               RETURN key ORDER BY key } AS vectors
DETACH DELETE u
RETURN interactions, size(groups) AS memberships, groups, vectors
