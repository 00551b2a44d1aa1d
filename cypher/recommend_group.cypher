// Top-$k items for group $group under the active model version, by $strategy over the members' scores. A
// member's score for an item is what recommend_user would give them (the formula of graphrec.model.base:
// item–item weights summed over their history, plus q . v_i with their stored or folded-in vector; for a
// popularity model, the item's number of interactions); members the model cannot score (no vector, no usable
// history) are left out, see `unscored`. Histories are INTERACTED (HELD_OUT cases are none).
//   'average'        mean of the members' scores;
//   'least_misery'   the lowest member score;
//   'most_pleasure'  the highest member score;
//   'borda'          sum over members of rank points: among the n candidates, a member's r-th best gets n - r,
//                    equal scores sharing the best rank (the other candidates it scores at most as high);
//   'group'          the group's own score: its stored vector, or for a model that folds in by sums (graph
//                    filters) its own history, like a user's (no row when it has neither);
//   'combined'       a * group score + (1 - a) * the members' mean score, every member counted (one left out
//                    scores 0: a member without history has an empty row), a = the model's group_weight;
//                    'average' when the
//                    group or the model has no group side (then basis = 'members').
// Leaves out the group's own items, with $exclude_member_items also every member's, the ids in $exclude, and
// items whose properties do not equal every entry of $filter.
// Candidates: every item when the model has vectors for at most $exact_max_items items; otherwise the
// $k + |seen| + |$exclude| + $oversample best items (seen and excluded ones left out) by the vector part of
// the strategy over the whole catalogue, scored natively by the procedure graphrec.topItems
// (graphrec/db/server/procedures/TopItems.java): for least_misery / most_pleasure / borda each member's
// q . v_i, aggregated alike (a member without a vector scores 0), for the others the strategy's linear target
// (the members' mean vector, the group vector or their mix, the members' part weighted as in 'combined': the
// members with a vector over every member); plus every item the members' (and the group's)
// items have a weight to, with each member's (and the group's) weight sum, all from one call of the procedure
// graphrec.itemWeights (graphrec/db/server/procedures/ItemWeights.java). An item outside them has no weight, so
// its score is its vector part: when weights are not negative the candidates hold the exact top $k of every
// strategy. Each member's and the group's q . v_i of every candidate comes from one call of the function
// graphrec.innerProducts (TopItems.java: float64 sums of the float32 vectors graphrec.topItems keeps in memory).
// For a model without vectors and no $filter, every strategy is a sum, a minimum or a maximum of the
// weight sums, or Borda points among the reached items: the procedure then yields only the items that can be
// among the $k best by it, with the coefficients of the strategy's score below (ties at the cut kept, or when
// they share one score those of the lowest ids) and its key (`score`, kept as `cut_score`: Borda's points are
// counted among every reached item, not among the items yielded). With vectors, no $filter and no exact scan,
// least_misery, most_pleasure, Borda and, for a model with item–item weights too, the members' average (`average`,
// and `combined` without a group side) take their candidates from graphrec.topItems alone (`whole`): it adds
// each member's weight sums to their q . v natively, ranks the whole formula over the catalogue (Borda points
// over every item left) and yields each member's score of its `wanted` best, so that no row is made per item
// the members' items reach. Otherwise Borda points are counted
// among every item on the exact scan, and among the candidates with a $filter.
// Returns up to $k rows, best first (ties by id): rank, id, score, strategy, basis ('members', 'group',
// 'combined' or 'popular'), kind (the model kind), members (each scored member's {user, score}, by user id),
// group_score (null without a group side), unscored (member ids left out), version, properties ([name, value]
// pairs, vectors left out), graph (with $draw, what Browser draws for the row, see below; else null). No row
// when the group, its members or an active model do not exist.
// Diversity: with $diversity lambda > 0 MMR re-ranks the 3 $k best in the function graphrec.mmr
// (graphrec/db/server/procedures/Mmr.java), serving's one implementation of it (see the step below).
// Parameters: $group: group id; $k: integer >= 1; $strategy: one of the above; $exclude_member_items: boolean;
// $filter: map; $exclude: list of item ids; $exact_max_items: integer; $oversample: integer >= 0; $draw: boolean;
// $diversity: MMR weight lambda in [0, 1] or null (none, the default); $diversity_by: 'graph' or 'text'.
:param group => 5001;
:param k => 10;
:param strategy => 'average';
:param exclude_member_items => false;
:param filter => ({});
:param exclude => [];
:param exact_max_items => 2000;
:param oversample => 100;
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
     collect(CASE WHEN scored THEN {user: u.id, q: q, seen: seen} END) AS members,
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
       ELSE 'members' END AS basis,
     [x IN members WHERE x.q IS NOT NULL] AS vectors
WHERE basis <> 'group' OR has_group
WITH m, popular, members, unscored, seen, gv, own, has_group, a, basis,
     CASE WHEN m.property IS NULL OR size(vectors) = 0 THEN NULL
          ELSE [j IN range(0, m.dim - 1) | reduce(s = 0.0, x IN vectors | s + x.q[j]) / size(vectors)] END AS mean,
     toFloat(size(vectors)) / (size(members) + size(unscored)) AS counted
WITH m, popular, members, unscored, seen, gv, own, has_group, a, basis, CASE basis
       WHEN 'group' THEN gv
       WHEN 'combined' THEN CASE WHEN gv IS NULL THEN mean WHEN mean IS NULL THEN gv
                                 ELSE [j IN range(0, m.dim - 1) | a * gv[j] + (1 - a) * counted * mean[j]] END
       ELSE mean END AS target,
     $k + size(seen) + size($exclude) + $oversample AS wanted,
     m.property IS NOT NULL AND m.items <= $exact_max_items AS scan,
     COLLECT { MATCH (x:Item) WHERE x.id IN $exclude RETURN x } AS excluded,
     CASE WHEN m.property IS NULL AND NOT popular AND size(keys($filter)) = 0
          THEN CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END ELSE -1 END AS cut,
     CASE $strategy WHEN 'least_misery' THEN 'min' WHEN 'most_pleasure' THEN 'max' WHEN 'borda' THEN 'borda'
                    ELSE 'sum' END AS rank_by,
     ($strategy IN ['least_misery', 'most_pleasure', 'borda']
       OR ($strategy IN ['average', 'combined'] AND basis = 'members' AND m.similar IS NOT NULL))
       AND size(keys($filter)) = 0 AND m.property IS NOT NULL
       AND coalesce(m.items > $exact_max_items, false) AS whole,
     CASE basis WHEN 'group' THEN [x IN members | 0.0] + [1.0]
                WHEN 'combined' THEN [x IN members | (1 - a) / (size(members) + size(unscored))] + [a]
                ELSE [x IN members | 1.0] + [0.0] END AS coefficients
CALL (m, popular, members, own, seen, excluded, target, wanted, scan, cut, rank_by, coefficients, whole) {
    CALL (m, popular, members, own, seen, excluded, target, wanted, scan, cut, rank_by, coefficients, whole) {
        WITH * WHERE m.similar IS NOT NULL
        CALL graphrec.itemWeights(m.similar, [x IN members | CASE WHEN whole THEN [] ELSE x.seen END] + [own],
                                  seen + excluded, cut, rank_by, coefficients)
          YIELD node AS i, weights, score
        RETURN i, weights, null AS catalogue, CASE WHEN cut >= 0 THEN score END AS cut_score, null AS member_scores
      UNION ALL
        UNWIND CASE WHEN scan THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL
        RETURN i, null AS weights, null AS catalogue, null AS cut_score, null AS member_scores
      UNION ALL
        WITH * WHERE m.property IS NOT NULL AND NOT scan
        WITH *, $strategy IN ['least_misery', 'most_pleasure', 'borda'] OR whole AS per_member
        WITH *, CASE WHEN per_member THEN [x IN members | coalesce(x.q, [j IN range(1, m.dim) | 0.0])]
                     WHEN target IS NOT NULL THEN [target] ELSE [] END AS queries
        CALL graphrec.topItems(m.property, toString(m.created), queries,
                               CASE WHEN $strategy IN ['least_misery', 'most_pleasure', 'borda'] THEN $strategy
                                    ELSE 'average' END, wanted, seen + excluded,
                               m.similar, CASE WHEN whole AND m.similar IS NOT NULL THEN [x IN members | x.seen]
                                               ELSE [] END)
          YIELD node AS i, score, scores
        RETURN i, null AS weights, score AS catalogue, null AS cut_score,
               CASE WHEN whole THEN scores END AS member_scores
      UNION ALL
        UNWIND CASE WHEN popular THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE all(key IN keys($filter) WHERE i[key] = $filter[key])
        WITH wanted, i, COUNT { (i)<-[:INTERACTED]-() } AS popularity
        ORDER BY popularity DESC, i.id
        WITH wanted, collect(i) AS ranked
        UNWIND ranked[..wanted] AS i
        RETURN i, null AS weights, null AS catalogue, null AS cut_score, null AS member_scores
    }
    WITH i, collect(weights) AS found, max(catalogue) AS catalogue, max(cut_score) AS cut_score,
         head(collect(member_scores)) AS member_scores
    RETURN i, coalesce(head(found), []) AS weights, catalogue, cut_score, member_scores
}
WITH m, popular, members, unscored, seen, gv, has_group, a, basis, whole, i, weights, catalogue, cut_score,
     member_scores
WHERE NOT i IN seen AND NOT i.id IN $exclude AND all(key IN keys($filter) WHERE i[key] = $filter[key])
  AND (NOT whole OR catalogue IS NOT NULL)
WITH m, members, unscored, gv, has_group, basis, a, whole, i, weights, catalogue, cut_score, member_scores,
     CASE WHEN popular
       THEN toFloat(COUNT { (i)<-[:INTERACTED]-() }) ELSE 0.0 END AS base
WITH m, members, unscored, gv, has_group, basis, a, whole,
     collect({i: i, weights: weights, base: base, catalogue: catalogue, cut: cut_score,
              member_scores: member_scores}) AS rows
// each member's q . v_i (then the group's) for every candidate at once, from the items' vectors (null: no vector);
// with `whole`, graphrec.topItems gave the members' whole scores, and only the group's is left
WITH m, members, unscored, has_group, basis, a, whole, rows, CASE WHEN m.property IS NULL THEN []
       ELSE graphrec.innerProducts(m.property, toString(m.created),
                                   [x IN members | CASE WHEN whole THEN null ELSE x.q END] + [gv], [r IN rows | r.i])
     END AS products
UNWIND range(0, size(rows) - 1) AS c
WITH m, members, unscored, basis, a, whole, {i: rows[c].i,
       scores: coalesce(rows[c].member_scores, [x IN range(0, size(members) - 1) |
                coalesce(rows[c].weights[x], 0.0) + coalesce(products[c][x], 0.0) + rows[c].base]),
       group: CASE WHEN has_group THEN coalesce(rows[c].weights[size(members)], 0.0)
                                       + coalesce(products[c][size(members)], 0.0) END,
       catalogue: rows[c].catalogue, cut: rows[c].cut} AS p
WITH m, members, unscored, basis, a, whole, collect(p) AS pool
CALL (members, pool, whole) {
    WITH * WHERE $strategy = 'borda' AND NOT whole AND all(p IN pool WHERE p.cut IS NULL)
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
WITH m, members, unscored, basis, a, whole, pool[c] AS p, bordas[c] AS borda,
     reduce(s = 0.0, x IN pool[c].scores | s + x) AS total
WITH m, members, unscored, basis, p, CASE $strategy
       WHEN 'average' THEN total / size(members)
       WHEN 'least_misery' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x < s THEN x ELSE s END)
       WHEN 'most_pleasure' THEN reduce(s = p.scores[0], x IN p.scores | CASE WHEN x > s THEN x ELSE s END)
       WHEN 'borda' THEN CASE WHEN p.cut IS NOT NULL THEN p.cut WHEN whole THEN p.catalogue
                              ELSE toFloat(borda) END
       WHEN 'group' THEN p.group
       WHEN 'combined' THEN CASE basis WHEN 'combined' THEN a * p.group + (1 - a) * total / (size(members) + size(unscored))
                                       ELSE total / size(members) END
     END AS score
ORDER BY score DESC, p.i.id
LIMIT CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END
WITH m, members, unscored, basis, collect({p: p, score: score}) AS ranked
// Diversity, only with $diversity lambda > 0: MMR picks $k items of the 3 $k best, each time the one of highest
// (1 - lambda) * relevance - lambda * (its largest cosine to the items picked so far; 0 for the first), relevance
// the score min-max scaled over the pool, cosines of the model's item vectors ($diversity_by 'graph') or text
// vectors ('text'); 0 for an item without one; ties to the better ranked. It lives in one place, the function
// graphrec.mmr (graphrec/db/server/procedures/Mmr.java; offline: graphrec.evaluation.diversity.mmr_order), which
// returns positions into ranked: the column score stays the model's score. With $diversity null or 0 the ranking
// stays as it is.
WITH m, members, unscored, basis, CASE WHEN coalesce($diversity, 0.0) = 0 THEN ranked
     ELSE [n IN graphrec.mmr([r IN ranked | r.p.i], [r IN ranked | r.score], $k, $diversity,
                             CASE $diversity_by WHEN 'text' THEN m.text_property ELSE m.property END) | ranked[n]]
     END AS ranked
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
