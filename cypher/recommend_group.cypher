// Top-$k items for group $group under the active model, by $strategy over the members' scores (a member's
// score for an item is the inner product of their vector with the item's; a member without a trained vector
// is folded in from their interactions as in recommend_user; members with neither are left out, see `unscored`):
//   'average'        mean of the members' scores;
//   'least_misery'   the lowest member score;
//   'most_pleasure'  the highest member score;
//   'borda'          sum over members of rank points: among the n candidates, a member's r-th best gets n - r;
//   'group'          the group node's own learned vector (no row when the model has none for it);
//   'combined'       a * group score + (1 - a) * average, a = the model's group_weight; 'average' when the
//                    group or the model has no group vector (then basis = 'members').
// Leaves out the group's own items, with $exclude_member_items also every member's, the ids in $exclude, and
// items whose properties do not equal every entry of $filter.
// Candidates: every item when the model has at most $exact_max_items items; otherwise the vector index's
// nearest neighbours (as in recommend_user) of the strategy's linear target (the members' mean vector, the
// group vector or their mix) and, for least_misery / most_pleasure / borda, of each member's vector too.
// Borda points are counted among those candidates.
// Returns up to $k rows, best first (ties by id): rank, id, score, strategy, basis ('members', 'group' or
// 'combined'), members (each scored member's {user, score}, by user id), group_score (null without a group
// vector), unscored (member ids left out), version, properties ([name, value] pairs, vectors left out),
// graph (with $draw, what Browser draws for the row, see below; else null).
// No row when the group, its members or an active model do not exist.
// Parameters: $group: group id; $k: integer >= 1; $strategy: one of the above; $exclude_member_items: boolean;
// $filter: map; $exclude: list of item ids; $exact_max_items: integer; $oversample: integer >= 0; $draw: boolean.
:param group => 5001;
:param k => 10;
:param strategy => 'average';
:param exclude_member_items => false;
:param filter => ({});
:param exclude => [];
:param exact_max_items => 2000;
:param oversample => 100;
:param draw => true;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (g:Group {id: $group})
MATCH (u:User)-[:MEMBER_OF]->(g)
WITH m, g, u, COLLECT { MATCH (u)-[:INTERACTED]->(i:Item) RETURN i } AS seen
WITH m, g, u, seen, CASE WHEN u[m.property] IS NULL THEN [i IN seen WHERE i[m.property] IS NOT NULL |
     {v: i[m.property], w: 1.0 / sqrt(toFloat(size(seen)) * COUNT { (i)<-[:INTERACTED]-() })}] END AS trained
WITH m, g, u, seen, coalesce(u[m.property], CASE WHEN size(trained) > 0
     THEN [j IN range(0, m.dim - 1) | reduce(s = 0.0, t IN trained | s + t.w * t.v[j])] END) AS q
ORDER BY u.id
WITH m, g, collect(CASE WHEN q IS NOT NULL
                   THEN {user: u.id, q: q, norms: reduce(s = 0.0, x IN q | s + x * x) + m.max_item_norm ^ 2} END) AS members,
     collect(CASE WHEN q IS NULL THEN u.id END) AS unscored,
     CASE WHEN $exclude_member_items THEN reduce(all = [], s IN collect(seen) | all + s) ELSE [] END AS member_seen
WHERE size(members) > 0 OR $strategy = 'group'
WITH m, g, members, unscored, member_seen + COLLECT { MATCH (g)-[:INTERACTED]->(i:Item) RETURN i } AS seen,
     [j IN range(0, m.dim - 1) | reduce(s = 0.0, x IN members | s + x.q[j]) / size(members)] AS mean,
     g[m.property] AS gv, coalesce(m.group_weight, 0.0) AS a
WITH m, members, unscored, seen, gv, a, CASE $strategy
       WHEN 'group' THEN 'group'
       WHEN 'combined' THEN CASE WHEN gv IS NOT NULL AND m.group_weight IS NOT NULL THEN 'combined' ELSE 'members' END
       ELSE 'members' END AS basis,
     CASE WHEN gv IS NULL THEN NULL ELSE reduce(s = 0.0, x IN gv | s + x * x) + m.max_item_norm ^ 2 END AS gnorms,
     mean
WHERE basis <> 'group' OR gv IS NOT NULL
WITH m, members, unscored, seen, basis, gv, gnorms, a, CASE basis
       WHEN 'group' THEN gv
       WHEN 'combined' THEN [j IN range(0, m.dim - 1) | a * gv[j] + (1 - a) * mean[j]]
       ELSE mean END AS target,
     $k + size(seen) + size($exclude) + $oversample AS wanted
CALL (m, members, target, wanted) {
    UNWIND CASE WHEN m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL AND all(key IN keys($filter) WHERE i[key] = $filter[key])
    RETURN i
  UNION ALL
    WITH * WHERE m.items > $exact_max_items
    UNWIND [target] + CASE WHEN $strategy IN ['least_misery', 'most_pleasure', 'borda']
                           THEN [x IN members | x.q] ELSE [] END AS probe
    CALL db.index.vector.queryNodes(m.index, wanted, probe + [0.0]) YIELD node AS i
    RETURN DISTINCT i
}
WITH m, members, unscored, seen, basis, gv, gnorms, a, i
WHERE NOT i IN seen AND NOT i.id IN $exclude AND all(key IN keys($filter) WHERE i[key] = $filter[key])
WITH m, members, unscored, basis, a, i,
     [x IN members | (x.norms - 1.0 / vector.similarity.euclidean(x.q + [0.0], i[m.mips_property]) + 1.0) / 2] AS scores,
     CASE WHEN gv IS NOT NULL
          THEN (gnorms - 1.0 / vector.similarity.euclidean(gv + [0.0], i[m.mips_property]) + 1.0) / 2 END AS group_score
WITH m, members, unscored, basis, a, collect({i: i, scores: scores, group: group_score}) AS pool
CALL (members, pool) {
    WITH * WHERE $strategy = 'borda'
    UNWIND range(0, size(members) - 1) AS member
    UNWIND range(0, size(pool) - 1) AS c
    WITH member, c ORDER BY pool[c].scores[member], c DESC
    WITH member, collect(c) AS ascending
    UNWIND range(0, size(ascending) - 1) AS points
    WITH ascending[points] AS c, points
    WITH c, sum(points) AS borda ORDER BY c
    RETURN collect(borda) AS bordas
}
UNWIND range(0, size(pool) - 1) AS c
WITH m, members, unscored, basis, a, pool[c] AS p, bordas[c] AS borda,
     reduce(s = 0.0, x IN pool[c].scores | s + x) / size(members) AS average
WITH m, members, unscored, basis, p, CASE $strategy
       WHEN 'average' THEN average
       WHEN 'least_misery' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x < s THEN x ELSE s END)
       WHEN 'most_pleasure' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x > s THEN x ELSE s END)
       WHEN 'borda' THEN toFloat(borda)
       WHEN 'group' THEN p.group
       WHEN 'combined' THEN CASE basis WHEN 'combined' THEN a * p.group + (1 - a) * average ELSE average END
     END AS score
ORDER BY score DESC, p.i.id
LIMIT $k
WITH m, members, unscored, basis, collect({p: p, score: score}) AS ranked
// Browser's drawing, only with $draw (graphrec/cypher_files.py): per rank, the group -[:RECOMMENDED {rank,
// score}]-> the item, and why: each scored member -[:MEMBER_OF]-> the group and -[:SCORED {score}]-> the item
// (the member's score, as in the column members); APOC virtual nodes (without vectors) and relationships.
OPTIONAL CALL (members, ranked) {
    WITH * WHERE $draw
    MATCH (g:Group {id: $group})
    CALL (members) {
        UNWIND members AS x
        MATCH (u:User {id: x.user})
        RETURN collect({user: u.id, v: apoc.create.virtual.fromNode(u, [key IN keys(u) WHERE NOT key STARTS WITH 'embedding_v'])}) AS voters
    }
    WITH members, ranked, apoc.create.virtual.fromNode(g, [key IN keys(g) WHERE NOT key STARTS WITH 'embedding_v']) AS vg,
         [x IN members | [v IN voters WHERE v.user = x.user][0].v] AS vmembers,
         [r IN ranked | apoc.create.virtual.fromNode(r.p.i, [key IN keys(r.p.i) WHERE NOT key STARTS WITH 'embedding_v'])] AS vitems
    WITH ranked, vg, vmembers, vitems, [v IN vmembers | apoc.create.vRelationship(v, 'MEMBER_OF', {}, vg)] AS vmember_of
    // Browser draws every relationship of every row (it tells nodes apart, not relationships): MEMBER_OF goes in
    // the first row only.
    RETURN [n IN range(0, size(ranked) - 1) | [vg, vitems[n],
            apoc.create.vRelationship(vg, 'RECOMMENDED', {rank: n + 1, score: round(ranked[n].score, 4)}, vitems[n])] +
            vmembers + CASE n WHEN 0 THEN vmember_of ELSE [] END +
            [x IN range(0, size(vmembers) - 1) |
             apoc.create.vRelationship(vmembers[x], 'SCORED', {score: round(ranked[n].p.scores[x], 4)}, vitems[n])]] AS drawings
}
UNWIND range(1, size(ranked)) AS rank
WITH m, members, unscored, basis, rank, ranked[rank - 1].p AS p, ranked[rank - 1].score AS score, drawings[rank - 1] AS graph
WITH m, members, unscored, basis, rank, p.i AS i, p, score, graph
RETURN rank, i.id AS id, score, $strategy AS strategy, basis,
       [x IN range(0, size(members) - 1) | {user: members[x].user, score: p.scores[x]}] AS members,
       p.group AS group_score, unscored, m.version AS version,
       [key IN keys(i) WHERE key <> 'id' AND NOT key STARTS WITH 'embedding_v' | [key, i[key]]] AS properties, graph
