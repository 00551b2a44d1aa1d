// recommend_group.cypher without graphrec's procedures, in built-in Cypher only (and APOC core for $draw): for a
// server without graphrec's plugin, such as Aura. graphrec.recommend.Recommender sends it when the server lacks
// graphrec.topItems, graphrec.itemWeights or graphrec.mmr (it says so once on standard error).
// The same answers as recommend_group.cypher's exact scan: the top-$k items for group $group under the active
// model version by $strategy over the members' scores (each member's score as recommend_user gives it; members the
// model cannot score are left out, see `unscored`), every strategy of recommend_group.cypher:
//   'average'        mean of the members' scores;
//   'least_misery'   the lowest member score;
//   'most_pleasure'  the highest member score;
//   'borda'          sum over members of rank points: among the n candidates, a member's r-th best gets n - r,
//                    equal scores sharing the best rank (the other candidates it scores at most as high);
//   'group'          the group's own score (its stored vector, or for a model that folds in by sums its own
//                    history; no row when it has neither);
//   'combined'       a * group score + (1 - a) * the members' mean score, every member counted, a = the model's
//                    group_weight; 'average' when the group or the model has no group side (basis 'members').
// Leaves out the group's own items, with $exclude_member_items also every member's, the ids in $exclude, and
// items whose properties do not equal every entry of $filter.
// Candidates: every item with a vector (an exact scan, whatever the catalogue's size: 2-3 s for a group of 6 on
// Gowalla's 41k items when idle, 6-8 s under load), plus every item the members' (and the group's) items have a
// weight to, each member's (and the group's) weight sum made by expanding the SIMILAR_vN relationships here
// (graphrec.itemWeights does that natively). Borda points are counted among those candidates: with vectors, the
// whole catalogue but the left-out items, as the exact scan of recommend_group.cypher counts them (its candidate
// path counts them among its candidates when the model has weights or with a $filter, and gives tied items equal
// points: its Borda lists may differ). q . v_i by the euclidean identity on the MIPS vectors, as in
// recommend_group.cypher: the same scores.
// Returns up to $k rows, best first (ties by id): rank, id, score, strategy, basis, kind, members, group_score,
// unscored, version, properties, graph, as recommend_group.cypher. No row when the group, its members or an
// active model do not exist.
// Diversity: with $diversity lambda > 0, MMR re-ranks the 3 $k best in a Cypher reduce that computes what
// graphrec.mmr computes (see the step below; float64 arithmetic, the same picks).
// Parameters: $group: group id; $k: integer >= 1; $strategy: one of the above; $exclude_member_items: boolean;
// $filter: map; $exclude: list of item ids; $draw: boolean; $diversity: MMR weight lambda in [0, 1] or null
// (none, the default); $diversity_by: 'graph' or 'text'.
:param group => 5001;
:param k => 10;
:param strategy => 'average';
:param exclude_member_items => false;
:param filter => ({});
:param exclude => [];
:param draw => true;
:param diversity => null;
:param diversity_by => 'graph';
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (g:Group {id: $group})
MATCH (u:User)-[:MEMBER_OF]->(g)
WITH m, g, u, m.property IS NULL AND m.similar IS NULL AS popular,
     COLLECT { MATCH (u)-[:INTERACTED]->(i:Item) RETURN i } AS seen
WITH m, g, u, popular, seen, CASE
       WHEN m.property IS NULL OR u[m.property] IS NOT NULL THEN []
       WHEN m.fold_in = 'sum' THEN [i IN seen WHERE i[m.fold_property] IS NOT NULL | {v: i[m.fold_property], w: 1.0}]
       ELSE [i IN seen WHERE i[m.property] IS NOT NULL |
             {v: i[m.property], w: 1.0 / sqrt(toFloat(size(seen)) *
                 COUNT { (i)<-[:INTERACTED]-() })}] END AS fold
WITH m, g, u, popular, seen, CASE WHEN m.property IS NOT NULL THEN coalesce(u[m.property], CASE WHEN size(fold) > 0
     THEN [j IN range(0, m.dim - 1) | reduce(s = 0.0, t IN fold | s + t.w * t.v[j])] END) END AS q
WITH m, g, u, popular, seen, q, popular OR q IS NOT NULL OR (m.similar IS NOT NULL AND size(seen) > 0) AS scored
ORDER BY u.id
WITH m, g, popular,
     collect(CASE WHEN scored THEN {user: u.id, q: q, seen: seen,
             norms: reduce(s = 0.0, x IN coalesce(q, []) | s + x * x) + coalesce(m.max_item_norm, 0.0) ^ 2} END) AS members,
     collect(CASE WHEN NOT scored THEN u.id END) AS unscored,
     CASE WHEN $exclude_member_items THEN reduce(all = [], s IN collect(seen) | all + s) ELSE [] END AS member_seen
WITH m, g, popular, members, unscored, member_seen,
     COLLECT { MATCH (g)-[:INTERACTED]->(i:Item) RETURN i } AS own
WITH m, g, popular, members, unscored, member_seen + own AS seen, own, CASE
       WHEN m.property IS NULL THEN NULL
       WHEN g[m.property] IS NOT NULL THEN g[m.property]
       WHEN m.fold_in = 'sum' AND any(i IN own WHERE i[m.fold_property] IS NOT NULL)
         THEN [j IN range(0, m.dim - 1) | reduce(s = 0.0, i IN own | s + coalesce(i[m.fold_property][j], 0.0))] END AS gv
WITH m, popular, members, unscored, seen, gv,
     m.similar IS NOT NULL AND (g[m.property] IS NOT NULL OR m.fold_in = 'sum' OR m.property IS NULL)
       AND size(own) > 0 AS own_edges, own
WITH m, popular, members, unscored, seen, gv, CASE WHEN own_edges THEN own ELSE [] END AS own,
     gv IS NOT NULL OR own_edges AS has_group
WHERE size(members) > 0 OR ($strategy = 'group' AND has_group)
WITH m, popular, members, unscored, seen, gv, own, has_group, coalesce(m.group_weight, 0.0) AS a, CASE
       WHEN popular THEN 'popular'
       WHEN $strategy = 'group' THEN 'group'
       WHEN $strategy = 'combined' AND has_group AND m.group_weight IS NOT NULL THEN 'combined'
       ELSE 'members' END AS basis
WHERE basis <> 'group' OR has_group
WITH m, popular, members, unscored, seen, gv, own, has_group, a, basis,
     CASE WHEN gv IS NULL THEN NULL
          ELSE reduce(s = 0.0, x IN gv | s + x * x) + m.max_item_norm ^ 2 END AS gnorms,
     $k + size(seen) + size($exclude) AS wanted, m.property IS NOT NULL AS scan
CALL (m, popular, members, own, wanted, scan) {
    CALL (m, popular, members, own, wanted, scan) {
        WITH * WHERE m.similar IS NOT NULL
        WITH m, [x IN members | x.seen] + [own] AS sources
        UNWIND range(0, size(sources) - 1) AS x
        UNWIND sources[x] AS j
        MATCH (j)-[s:$(m.similar)]->(i:Item)
        WITH i, x, sum(s.weight) AS w, size(sources) AS n
        WITH i, n, collect({x: x, w: w}) AS edges
        RETURN i, [x IN range(0, n - 1) | reduce(s = 0.0, e IN edges | CASE WHEN e.x = x THEN s + e.w ELSE s END)]
                  AS weights
      UNION ALL
        UNWIND CASE WHEN scan THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL
        RETURN i, null AS weights
      UNION ALL
        UNWIND CASE WHEN popular THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE all(key IN keys($filter) WHERE i[key] = $filter[key])
        WITH wanted, i, COUNT { (i)<-[:INTERACTED]-() } AS popularity
        ORDER BY popularity DESC, i.id
        WITH wanted, collect(i) AS ranked
        UNWIND ranked[..wanted] AS i
        RETURN i, null AS weights
    }
    WITH i, collect(weights) AS found
    RETURN i, coalesce(head(found), []) AS weights
}
WITH m, popular, members, unscored, seen, gv, gnorms, has_group, a, basis, i, weights
WHERE NOT i IN seen AND NOT i.id IN $exclude AND all(key IN keys($filter) WHERE i[key] = $filter[key])
WITH m, members, unscored, basis, a, i, CASE WHEN popular
       THEN toFloat(COUNT { (i)<-[:INTERACTED]-() }) ELSE 0.0 END AS base,
     [x IN range(0, size(members) - 1) |
       coalesce(weights[x], 0.0)
       + CASE WHEN members[x].q IS NULL OR i[m.mips_property] IS NULL THEN 0.0
              ELSE (members[x].norms - 1.0 / vector.similarity.euclidean(members[x].q + [0.0], i[m.mips_property])
                    + 1.0) / 2 END] AS scores,
     CASE WHEN has_group THEN coalesce(weights[size(members)], 0.0)
       + CASE WHEN gv IS NULL OR i[m.mips_property] IS NULL THEN 0.0
              ELSE (gnorms - 1.0 / vector.similarity.euclidean(gv + [0.0], i[m.mips_property]) + 1.0) / 2 END
     END AS group_score
WITH m, members, unscored, basis, a, collect({i: i, scores: [s IN scores | s + base], group: group_score}) AS pool
CALL (members, pool) {
    WITH * WHERE $strategy = 'borda'
    UNWIND range(0, size(members) - 1) AS member
    UNWIND range(0, size(pool) - 1) AS c
    WITH member, c, pool[c].scores[member] AS s ORDER BY s
    WITH member, collect({c: c, s: s}) AS ascending
    UNWIND range(0, size(ascending) - 1) AS position
    // a member's points for c: the other candidates it scores at most as high, its tie's last position
    WITH member, ascending[position].s AS s, max(position) AS points, collect(ascending[position].c) AS tied
    UNWIND tied AS c
    WITH c, sum(points) AS borda ORDER BY c
    RETURN collect(borda) AS bordas
}
UNWIND range(0, size(pool) - 1) AS c
WITH m, members, unscored, basis, a, pool[c] AS p, bordas[c] AS borda,
     reduce(s = 0.0, x IN pool[c].scores | s + x) AS total
WITH m, members, unscored, basis, p, CASE $strategy
       WHEN 'average' THEN total / size(members)
       WHEN 'least_misery' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x < s THEN x ELSE s END)
       WHEN 'most_pleasure' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x > s THEN x ELSE s END)
       WHEN 'borda' THEN toFloat(borda)
       WHEN 'group' THEN p.group
       WHEN 'combined' THEN CASE basis WHEN 'combined' THEN a * p.group + (1 - a) * total / (size(members) + size(unscored))
                                       ELSE total / size(members) END
     END AS score
ORDER BY score DESC, p.i.id
LIMIT CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END
WITH m, members, unscored, basis, collect({p: p, score: score}) AS ranked
// Diversity, only with $diversity lambda > 0: MMR picks min($k, size) items of the 3 $k best (positions p into
// ranked, already by score, ties by id), each time the one left of highest (1 - lambda) * relevance[p] - lambda *
// closest[p], closest[p] its largest cosine to the items picked so far (0 before the first pick); relevance the
// score min-max scaled over the pool (1 for all when the scores are equal); the cosine of the model's item vectors
// ($diversity_by 'graph') or text vectors ('text') scaled to length 1 in float64, 0 when either item has none or a
// zero vector; ties to the better ranked (the lower position). What the function graphrec.mmr computes
// (graphrec/db/server/procedures/Mmr.java), as a reduce over the picks. The column score stays the model's
// score; with $diversity null or 0 the ranking stays as it is.
CALL (m, ranked) {
    WITH ranked, coalesce($diversity, 0.0) AS lambda, range(0, size(ranked) - 1) AS all,
         CASE $diversity_by WHEN 'text' THEN m.text_property ELSE m.property END AS vp,
         ranked[0].score AS high, ranked[size(ranked) - 1].score AS low
    WITH ranked, lambda, all,
         [r IN ranked | CASE WHEN high > low THEN (r.score - low) / (high - low) ELSE 1.0 END] AS relevance,
         [r IN ranked | CASE WHEN lambda > 0 AND vp IS NOT NULL THEN r.p.i[vp] END] AS vectors
    WITH ranked, lambda, all, relevance,
         [v IN vectors | {v: v, norm: sqrt(reduce(s = 0.0, x IN coalesce(v, []) | s + x * x))}] AS normed
    WITH ranked, lambda, all, relevance,
         [x IN normed | CASE WHEN x.norm > 0 THEN [y IN x.v | y / x.norm] END] AS units
    RETURN CASE WHEN lambda = 0 THEN ranked[..$k] ELSE [p IN reduce(s = {picked: [], closest: [r IN all | 0.0]},
        step IN range(0, CASE WHEN $k < size(ranked) THEN $k ELSE size(ranked) END - 1) |
        reduce(t = s, best IN [reduce(b = -1, r IN all | CASE
                WHEN r IN s.picked THEN b
                WHEN b < 0 OR (1 - lambda) * relevance[r] - lambda * s.closest[r]
                              > (1 - lambda) * relevance[b] - lambda * s.closest[b] THEN r
                ELSE b END)] |
            reduce(z = t, cosines IN [[r IN all | CASE WHEN units[best] IS NULL OR units[r] IS NULL THEN 0.0
                    ELSE reduce(c = 0.0, d IN range(0, size(units[r]) - 1) | c + units[best][d] * units[r][d]) END]] |
                {picked: z.picked + best,
                 closest: [r IN all | CASE WHEN step = 0 OR cosines[r] > z.closest[r] THEN cosines[r]
                                           ELSE z.closest[r] END]}))).picked | ranked[p]] END AS diverse
}
WITH m, members, unscored, basis, diverse AS ranked
// Browser's drawing, only with $draw (graphrec/db/cypher.py): per rank, the group -[:RECOMMENDED {rank,
// score}]-> the item, and why: each scored member -[:MEMBER_OF]-> the group and -[:SCORED {score}]-> the item
// (the member's score, as in the column members); APOC virtual nodes (without vectors) and relationships.
OPTIONAL CALL (members, ranked) {
    WITH * WHERE $draw
    MATCH (g:Group {id: $group})
    CALL (members) {
        UNWIND members AS x
        MATCH (u:User {id: x.user})
        RETURN collect({user: u.id, v: apoc.create.virtual.fromNode(u, [key IN keys(u) WHERE NOT key STARTS WITH '~embedding_v'])}) AS voters
    }
    WITH members, ranked, apoc.create.virtual.fromNode(g, [key IN keys(g) WHERE NOT key STARTS WITH '~embedding_v']) AS vg,
         [x IN members | [v IN voters WHERE v.user = x.user][0].v] AS vmembers,
         [r IN ranked | apoc.create.virtual.fromNode(r.p.i, [key IN keys(r.p.i) WHERE NOT key STARTS WITH '~embedding_v'])] AS vitems
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
RETURN rank, i.id AS id, score, $strategy AS strategy, basis, m.kind AS kind,
       [x IN range(0, size(members) - 1) | {user: members[x].user, score: p.scores[x]}] AS members,
       p.group AS group_score, unscored, m.version AS version,
       [key IN keys(i) WHERE key <> 'id' AND NOT key STARTS WITH '~embedding_v' | [key, i[key]]] AS properties, graph
