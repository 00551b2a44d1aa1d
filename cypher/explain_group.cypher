// Why item $item suits group $group under the active model version:
// - members: every member's score for the item, as recommend_group computes it (item–item weights summed over
//   the member's history, plus q . v_i with their stored or folded-in vector; null for a member the model
//   cannot score), highest first: the members who drive the pick come first;
// - group_score: the group's own score (its stored vector, or for a model that folds in by sums its own
//   history; null when it has neither);
// - because: the top member's own items that speak most for the item (up to $n), as in explain_user;
// - path: group <- top member -> their strongest item -[:SIMILAR_vN]-> the item (models with weights), else
//   group <- top member -> their most similar item shared with another user <- that user -> the item, else the
//   shortest path over INTERACTED and MEMBER_OF of at most 6 hops (Browser draws it); steps lists its nodes
//   as {label, id};
// - interacted: whether the group already has the item.
// Histories are INTERACTED (held-out HELD_OUT cases are none).
// Returns one row: group, item, members, group_score, because, path, steps, interacted, kind, version. No row
// when the group, a member, the item or an active model does not exist.
// Parameters: $group: group id; $item: item id; $n: integer >= 1.
:param group => 5001;
:param item => 1001;
:param n => 3;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (g:Group {id: $group})
MATCH (i:Item {id: $item})
MATCH (u:User)-[:MEMBER_OF]->(g)
CALL (m, u, i) {
    WITH m, u, i, COLLECT { MATCH (u)-[:INTERACTED]->(j:Item) RETURN j } AS seen
    WITH m, u, i, seen, CASE
           WHEN m.property IS NULL OR u[m.property] IS NOT NULL THEN []
           WHEN m.fold_in = 'sum' THEN [j IN seen WHERE j[m.fold_property] IS NOT NULL | {v: j[m.fold_property], w: 1.0}]
           ELSE [j IN seen WHERE j[m.property] IS NOT NULL |
                 {v: j[m.property], w: 1.0 / sqrt(toFloat(size(seen)) *
                     COUNT { (j)<-[:INTERACTED]-() })}] END AS fold
    WITH m, i, seen, CASE WHEN m.property IS NOT NULL THEN coalesce(u[m.property], CASE WHEN size(fold) > 0
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
    RETURN reasons, CASE WHEN q IS NULL AND (m.similar IS NULL OR size(seen) = 0) THEN NULL
          ELSE reduce(s = 0.0, r IN reasons | s + CASE WHEN r.basis = 'weight' THEN r.value ELSE 0.0 END)
               + CASE WHEN q IS NULL OR i[m.property] IS NULL THEN 0.0
                      ELSE reduce(s = 0.0, x IN range(0, m.dim - 1) | s + q[x] * i[m.property][x]) END END AS score
}
WITH m, g, i, u, reasons, score
ORDER BY score IS NULL, score DESC, u.id
WITH m, g, i, collect({u: u, reasons: reasons}) AS ranked, collect({user: u.id, score: score}) AS members
WITH m, g, i, members, ranked[0].u AS top, ranked[0].reasons AS reasons,
     COLLECT { MATCH (g)-[:INTERACTED]->(j:Item) RETURN j } AS own
WITH m, g, i, members, top, reasons, own, CASE
       WHEN m.property IS NULL THEN NULL
       WHEN g[m.property] IS NOT NULL THEN g[m.property]
       WHEN m.fold_in = 'sum' AND any(j IN own WHERE j[m.fold_property] IS NOT NULL)
         THEN [x IN range(0, m.dim - 1) | reduce(s = 0.0, j IN own | s + coalesce(j[m.fold_property][x], 0.0))] END AS gv,
     m.similar IS NOT NULL AND (g[m.property] IS NOT NULL OR m.fold_in = 'sum' OR m.property IS NULL)
       AND size(own) > 0 AS own_edges
WITH m, g, i, members, top, reasons,
     CASE WHEN gv IS NULL AND NOT own_edges THEN NULL
          ELSE CASE WHEN own_edges THEN reduce(s = 0.0, j IN own |
                   s + coalesce(COLLECT { MATCH (j)-[r:$(m.similar)]->(i) RETURN r.weight }[0], 0.0)) ELSE 0.0 END
               + CASE WHEN gv IS NULL OR i[m.property] IS NULL THEN 0.0
                      ELSE reduce(s = 0.0, x IN range(0, m.dim - 1) | s + gv[x] * i[m.property][x]) END END AS group_score
CALL (top, i, reasons) {
    UNWIND reasons[..$n] AS r
    WITH r, r.j AS j
    RETURN collect({item: j.id, basis: r.basis, value: r.value,
                    co_users: COUNT { (j)<-[:INTERACTED]-(v:User)-[:INTERACTED]->(i) WHERE v <> top }}) AS because
}
CALL (m, g, top, i, reasons, because) {
    UNWIND CASE WHEN size(reasons) > 0 AND reasons[0].basis = 'weight' THEN [reasons[0].j] ELSE [] END AS j
    OPTIONAL MATCH p = (g)<-[:MEMBER_OF]-(top)-[:INTERACTED]->(j)-[:$(m.similar)]->(i)
    RETURN p LIMIT 1
  UNION ALL
    UNWIND CASE WHEN size(reasons) > 0 AND reasons[0].basis = 'weight' THEN [] ELSE [1] END AS branch
    OPTIONAL MATCH p = (g)<-[:MEMBER_OF]-(top)-[:INTERACTED]->(j:Item {id: [b IN because WHERE b.co_users > 0][0].item})
                       <-[:INTERACTED]-(v:User)-[:INTERACTED]->(i)
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
RETURN g.id AS group, i.id AS item, members, group_score, because, path,
       [n IN nodes(path) | {label: labels(n)[0], id: n.id}] AS steps,
       EXISTS { (g)-[:INTERACTED]->(i) } AS interacted, m.kind AS kind, m.version AS version
