// Why item $item suits user $user under the active model version:
// - score: the user's score for the item, as recommend_user computes it (item–item weights summed over the
//   user's history, plus q . v_i with the user's stored or folded-in vector; null when the model can score
//   neither);
// - because: the user's own items that speak most for the item (up to $n, best first), each {item, basis,
//   value, co_users}: for a model with item–item weights (basis 'weight') the weight w(j -> item) each
//   contributes to the score, otherwise (basis 'cosine') the cosine of the item vectors; co_users: the number
//   of other users who interacted with both;
// - path: a short path in the graph Browser draws: user -> their strongest item -[:SIMILAR_vN]-> the item
//   (models with weights), else user -> their most similar item shared with another user <- that user -> the
//   item, else the shortest path over INTERACTED and MEMBER_OF of at most 6 hops; steps lists its nodes as
//   {label, id};
// - interacted: whether the user already has the item.
// Histories are INTERACTED (held-out HELD_OUT cases are none).
// Returns one row: user, item, score, because, path, steps, interacted, kind, version. No row when the user, the
// item or an active model does not exist.
// Parameters: $user: user id; $item: item id; $n: integer >= 1.
:param user => 1;
:param item => 1001;
:param n => 3;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (u:User {id: $user})
MATCH (i:Item {id: $item})
WITH m, u, i, COLLECT { MATCH (u)-[:INTERACTED]->(j:Item) RETURN j } AS seen
WITH m, u, i, seen, CASE
       WHEN m.property IS NULL OR u[m.property] IS NOT NULL THEN []
       WHEN m.fold_in = 'sum' THEN [j IN seen WHERE j[m.fold_property] IS NOT NULL | {v: j[m.fold_property], w: 1.0}]
       ELSE [j IN seen WHERE j[m.property] IS NOT NULL |
             {v: j[m.property], w: 1.0 / sqrt(toFloat(size(seen)) *
                 COUNT { (j)<-[:INTERACTED]-() })}] END AS fold
WITH m, u, i, seen, CASE WHEN m.property IS NOT NULL THEN coalesce(u[m.property], CASE WHEN size(fold) > 0
     THEN [x IN range(0, m.dim - 1) | reduce(s = 0.0, t IN fold | s + t.w * t.v[x])] END) END AS q
CALL (m, i, seen) {
    CALL (m, i, seen) {
        UNWIND CASE WHEN m.similar IS NULL THEN [] ELSE seen END AS j
        MATCH (j)-[s:$(m.similar)]->(i)
        RETURN j, 'weight' AS basis, s.weight AS value
      UNION ALL
        UNWIND CASE WHEN m.similar IS NULL AND i[m.property] IS NOT NULL THEN seen ELSE [] END AS j
        WITH m, i, j WHERE j <> i AND j[m.property] IS NOT NULL
        RETURN j, 'cosine' AS basis, 2 * vector.similarity.cosine(j[m.property], i[m.property]) - 1 AS value
    }
    WITH j, basis, value ORDER BY value DESC, j.id
    RETURN collect({j: j, basis: basis, value: value}) AS reasons
}
WITH m, u, i, q, reasons,
     CASE WHEN q IS NULL AND m.similar IS NULL THEN NULL
          ELSE reduce(s = 0.0, r IN reasons | s + CASE WHEN r.basis = 'weight' THEN r.value ELSE 0.0 END)
               + CASE WHEN q IS NULL OR i[m.property] IS NULL THEN 0.0
                      ELSE reduce(s = 0.0, x IN range(0, m.dim - 1) | s + q[x] * i[m.property][x]) END END AS score
CALL (u, i, reasons) {
    UNWIND reasons[..$n] AS r
    WITH r, r.j AS j
    RETURN collect({item: j.id, basis: r.basis, value: r.value,
                    co_users: COUNT { (j)<-[:INTERACTED]-(v:User)-[:INTERACTED]->(i) WHERE v <> u }}) AS because
}
CALL (m, u, i, reasons, because) {
    UNWIND CASE WHEN size(reasons) > 0 AND reasons[0].basis = 'weight' THEN [reasons[0].j] ELSE [] END AS j
    OPTIONAL MATCH p = (u)-[:INTERACTED]->(j)-[:$(m.similar)]->(i)
    RETURN p LIMIT 1
  UNION ALL
    UNWIND CASE WHEN size(reasons) > 0 AND reasons[0].basis = 'weight' THEN [] ELSE [1] END AS branch
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
RETURN u.id AS user, i.id AS item, score, because, path, [n IN nodes(path) | {label: labels(n)[0], id: n.id}] AS steps,
       EXISTS { (u)-[:INTERACTED]->(i) } AS interacted, m.kind AS kind, m.version AS version
