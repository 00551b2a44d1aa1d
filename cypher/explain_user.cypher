// Why item $item suits user $user under the active model:
// - score: the inner product of the user's trained vector with the item's (null for a user without one);
// - because: the user's own items most similar to it (up to $n, cosine of the item vectors, best first), each
//   with co_users, the number of other users who interacted with both;
// - path: a short path in the graph, user -> their most similar item shared with another user <- that user -> the item (shared
//   neighbours), else the shortest path over INTERACTED and MEMBER_OF of at most 6 hops; Browser draws it;
//   steps lists its nodes as {label, id};
// - interacted: whether the user already has the item.
// Returns one row: user, item, score, because, path, steps, interacted, version. No row when the user, the item or
// an active model does not exist.
// Parameters: $user: user id; $item: item id; $n: integer >= 1.
:param user => 1;
:param item => 1001;
:param n => 3;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (u:User {id: $user})
MATCH (i:Item {id: $item})
CALL (m, u, i) {
    MATCH (u)-[:INTERACTED]->(j:Item) WHERE j <> i AND j[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
    WITH j, 2 * vector.similarity.cosine(j[m.property], i[m.property]) - 1 AS similarity
    ORDER BY similarity DESC, j.id
    LIMIT $n
    RETURN collect({item: j.id, similarity: similarity,
                    co_users: COUNT { (j)<-[:INTERACTED]-(v:User)-[:INTERACTED]->(i) WHERE v <> u }}) AS because
}
CALL (u, i, because) {
    OPTIONAL MATCH p = (u)-[:INTERACTED]->(j:Item {id: [b IN because WHERE b.co_users > 0][0].item})<-[:INTERACTED]-(v:User)-[:INTERACTED]->(i)
    WHERE v <> u
    RETURN p LIMIT 1
}
CALL (u, i, p) {
    UNWIND CASE WHEN p IS NULL THEN [1] ELSE [] END AS branch
    OPTIONAL MATCH shortest = shortestPath((u)-[:INTERACTED|MEMBER_OF*..6]-(i))
    RETURN shortest AS path
  UNION ALL
    UNWIND CASE WHEN p IS NULL THEN [] ELSE [1] END AS branch
    RETURN p AS path
}
RETURN u.id AS user, i.id AS item,
       CASE WHEN u[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
            THEN reduce(s = 0.0, x IN range(0, m.dim - 1) | s + u[m.property][x] * i[m.property][x]) END AS score,
       because, path, [n IN nodes(path) | {label: labels(n)[0], id: n.id}] AS steps, EXISTS { (u)-[:INTERACTED]->(i) } AS interacted, m.version AS version
