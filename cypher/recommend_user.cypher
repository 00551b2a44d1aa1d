// Top-$k items for user $user under the active model version, leaving out the items the user interacted with,
// the ids in $exclude and items whose properties do not equal every entry of $filter (e.g. {category: 'book'}).
// Every model kind is served by one formula (graphrec.model.base):
//   score(u, i) = sum over the user's items j of w(j -> i)   [(:Item)-[:SIMILAR_vN {weight}]->(:Item), if any]
//               + q . v_i                                    [item vectors v_i, if any]
// The user's history N(u): their INTERACTED items, the training interactions (held-out evaluation cases,
// HELD_OUT, are not history). The query vector q and the column `basis`:
//   'embedding'  q is the user's stored vector (a user the model was fitted on);
//   'folded_in'  a user new since the fit, represented by their history: q = sum_j a_j (fold_in 'sum', stored
//                fold vectors a_j: graph filters) or q = sum_j v_j / sqrt(|N(u)| |N(j)|) (fold_in 'propagate':
//                one LightGCN step), and the item–item weights of their items; no retraining;
//   'popular'    no vector and no history the model can use (or a popularity model): the most
//                interacted-with items (score: their number of interactions).
// Candidates: every item when the model has vectors for at most $exact_max_items items (an exact scan in
// Cypher); otherwise the $k + |N(u)| + |$exclude| + $oversample items of highest q . v_i over the whole
// catalogue, the user's items left out, scored natively by the procedure graphrec.topItems
// (graphrec/db/server/procedures/TopItems.java), plus every item the user's items have a weight to (exact when
// weights are non-negative; a model without vectors ranks only those, so it may return fewer than $k). A model
// with both parts and no $filter (`whole`) takes its candidates from graphrec.topItems alone, which then adds
// the user's weight sums to q . v_i natively and ranks the whole formula: the exact top, with no row per item
// reached. The
// weights are summed natively by graphrec.itemWeights (graphrec/db/server/procedures/ItemWeights.java); for a
// model without vectors and no $filter it yields only the items that can be among the $k best (their score
// is the weight sum), with ties at the cut kept.
// Scores are exact either way: q.v as graphrec.topItems computed it (float64 sums of the float32 vectors) for
// its candidates; for the others (the exact scan, items reached only by weights) the same sums from the function
// graphrec.innerProducts (TopItems.java), row by row, so that the candidates stream to the top k (collected
// first, they cost the ORDER BY ~8 KB of transaction memory each).
// Returns up to $k rows, best first (ties by id): rank, id, score, basis, kind (the model kind), version,
// properties (the item's other properties as [name, value] pairs, vectors left out), graph (with $draw, what
// Browser draws for the row, see below; else null). No row when the user or an active model does not exist.
// Diversity: with $diversity lambda > 0 MMR re-ranks the 3 $k best in the function graphrec.mmr
// (graphrec/db/server/procedures/Mmr.java), serving's one implementation of it (see the step below).
// Parameters: $user: user id; $k: integer >= 1; $filter: map of item property -> required value;
// $exclude: list of item ids; $exact_max_items: integer; $oversample: integer >= 0; $draw: boolean;
// $diversity: MMR weight lambda in [0, 1] or null (none, the default); $diversity_by: 'graph' or 'text'.
:param user => 1;
:param k => 10;
:param filter => ({});
:param exclude => [];
:param exact_max_items => 5000;
:param oversample => 100;
:param draw => true;
:param diversity => null;
:param diversity_by => 'graph';
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (u:User {id: $user})
WITH m, u, COLLECT { MATCH (u)-[:INTERACTED]->(i:Item) RETURN i } AS seen
WITH m, u, seen, CASE
       WHEN m.property IS NULL OR u[m.property] IS NOT NULL THEN []
       WHEN m.fold_in = 'sum' THEN [i IN seen WHERE i[m.fold_property] IS NOT NULL | {v: i[m.fold_property], w: 1.0}]
       ELSE [i IN seen WHERE i[m.property] IS NOT NULL |
             {v: i[m.property], w: 1.0 / sqrt(toFloat(size(seen)) *
                 COUNT { (i)<-[:INTERACTED]-() })}] END AS fold
WITH m, seen, CASE WHEN m.property IS NOT NULL THEN coalesce(u[m.property], CASE WHEN size(fold) > 0
              THEN [j IN range(0, m.dim - 1) | reduce(s = 0.0, t IN fold | s + t.w * t.v[j])] END) END AS q,
     u[m.property] IS NOT NULL AS stored
WITH m, seen, q, CASE WHEN stored THEN 'embedding'
                      WHEN q IS NOT NULL OR (m.similar IS NOT NULL AND size(seen) > 0) THEN 'folded_in'
                      ELSE 'popular' END AS basis,
     $k + size(seen) + size($exclude) AS enough,
     m.property IS NOT NULL AND m.items <= $exact_max_items AS scan,
     COLLECT { MATCH (x:Item) WHERE x.id IN $exclude RETURN x } AS excluded
WITH *, basis <> 'popular' AND q IS NOT NULL AND m.similar IS NOT NULL AND size(keys($filter)) = 0
        AND coalesce(NOT scan, false) AS whole
CALL (m, seen, q, basis, enough, scan, excluded, whole) {
    CALL (m, seen, q, basis, enough, scan, excluded, whole) {
        UNWIND CASE WHEN basis = 'popular' THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE all(key IN keys($filter) WHERE i[key] = $filter[key])
        WITH enough, i, toFloat(COUNT { (i)<-[:INTERACTED]-() }) AS popularity
        ORDER BY popularity DESC, i.id
        WITH enough, collect({i: i, w: popularity}) AS ranked
        UNWIND ranked[..enough] AS t
        RETURN t.i AS i, t.w AS w, null AS product
      UNION ALL
        WITH * WHERE basis <> 'popular' AND m.similar IS NOT NULL AND NOT whole
        CALL graphrec.itemWeights(m.similar, [seen], seen + excluded,
                                  CASE WHEN m.property IS NULL AND size(keys($filter)) = 0
                                       THEN CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END
                                       ELSE -1 END) YIELD node AS i, weights
        RETURN i, weights[0] AS w, null AS product
      UNION ALL
        UNWIND CASE WHEN basis <> 'popular' AND scan THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL
        RETURN i, 0.0 AS w, null AS product
      UNION ALL
        WITH * WHERE basis <> 'popular' AND q IS NOT NULL AND NOT scan
        CALL graphrec.topItems(m.property, toString(m.created), [q], 'average', enough + $oversample,
                               seen + excluded, m.similar, CASE WHEN whole THEN [seen] ELSE [] END)
          YIELD node AS i, score
        RETURN i, 0.0 AS w, score AS product
    }
    RETURN i, sum(w) AS weights, max(product) AS product
}
WITH m, seen, basis, q, i, weights, product
WHERE NOT i IN seen AND NOT i.id IN $exclude AND all(key IN keys($filter) WHERE i[key] = $filter[key])
WITH m, basis, i, weights + CASE WHEN product IS NOT NULL THEN product WHEN q IS NULL THEN 0.0
     ELSE coalesce(graphrec.innerProducts(m.property, toString(m.created), [q], [i])[0][0], 0.0) END AS score
ORDER BY score DESC, i.id
LIMIT CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END
WITH m, basis, collect({i: i, score: score}) AS ranked
// Diversity, only with $diversity lambda > 0: MMR picks $k items of the 3 $k best, each time the one of highest
// (1 - lambda) * relevance - lambda * (its largest cosine to the items picked so far; 0 for the first), relevance
// the score min-max scaled over the pool, cosines of the model's item vectors ($diversity_by 'graph') or text
// vectors ('text'); 0 for an item without one; ties to the better ranked. It lives in one place, the function
// graphrec.mmr (graphrec/db/server/procedures/Mmr.java; offline: graphrec.evaluation.diversity.mmr_order), which
// returns positions into ranked: the column score stays the model's score. With $diversity null or 0 the ranking
// stays as it is.
WITH m, basis, CASE WHEN coalesce($diversity, 0.0) = 0 THEN ranked
     ELSE [n IN graphrec.mmr([r IN ranked | r.i], [r IN ranked | r.score], $k, $diversity,
                             CASE $diversity_by WHEN 'text' THEN m.text_property ELSE m.property END) | ranked[n]]
     END AS ranked
// Browser's drawing, only with $draw (graphrec/db/cypher.py): per rank, the user -[:RECOMMENDED {rank,
// score}]-> the item, and why: the user -[:INTERACTED]-> the own item that explains it best -[:SIMILAR]-> the
// item, with {weight: w(j -> i)} when the model has item–item weights, else {similarity: cosine of the
// vectors}; APOC virtual nodes (without vectors) and relationships.
OPTIONAL CALL (m, ranked) {
    WITH * WHERE $draw
    MATCH (u:User {id: $user})
    UNWIND range(1, size(ranked)) AS rank
    OPTIONAL CALL (m, u, ranked, rank) {
        WITH m, u, ranked[rank - 1].i AS i
        MATCH (u)-[seen:INTERACTED]->(j:Item)
        CALL (m, i, j) {
            WITH * WHERE m.similar IS NOT NULL
            MATCH (j)-[s:$(m.similar)]->(i)
            RETURN {weight: round(s.weight, 4)} AS why, s.weight AS strength
          UNION ALL
            WITH * WHERE m.similar IS NULL AND j[m.property] IS NOT NULL AND i[m.property] IS NOT NULL
            WITH 2 * vector.similarity.cosine(j[m.property], i[m.property]) - 1 AS similarity
            RETURN {similarity: round(similarity, 3)} AS why, similarity AS strength
        }
        RETURN seen, j, why
        ORDER BY strength DESC, j.id
        LIMIT 1
    }
    WITH u, collect({rank: rank, i: ranked[rank - 1].i, score: ranked[rank - 1].score, seen: seen, j: j,
                     why: why}) AS why
    CALL (u, why) {
        UNWIND [u] + [w IN why | w.i] + [w IN why WHERE w.j IS NOT NULL | w.j] AS n
        WITH DISTINCT n
        RETURN collect({n: n, v: apoc.create.virtual.fromNode(n, [key IN keys(n) WHERE NOT key STARTS WITH '~embedding_v'])}) AS virtual
    }
    WITH why, virtual, [x IN virtual WHERE x.n = u][0].v AS vu
    CALL (why, virtual, vu) {
        UNWIND why AS w
        WITH w.seen AS seen, w.j AS j, min(w.rank) AS first WHERE j IS NOT NULL
        RETURN collect({first: first, r: apoc.create.vRelationship(vu, 'INTERACTED', properties(seen),
                                                                   [x IN virtual WHERE x.n = j][0].v)}) AS interacted
    }
    // Browser draws every relationship of every row (it tells nodes apart, not relationships): a relationship
    // shared by several rows goes in the first one only.
    RETURN [w IN why | [x IN virtual WHERE x.n IN [w.i, w.j] | x.v] + [vu,
            apoc.create.vRelationship(vu, 'RECOMMENDED', {rank: w.rank, score: round(w.score, 4)},
                                      [x IN virtual WHERE x.n = w.i][0].v)] +
            [y IN interacted WHERE y.first = w.rank | y.r] +
            [x IN virtual WHERE x.n = w.j | apoc.create.vRelationship(x.v, 'SIMILAR', w.why,
                                                                      [y IN virtual WHERE y.n = w.i][0].v)]] AS drawings
}
UNWIND range(1, size(ranked)) AS rank
WITH m, basis, rank, ranked[rank - 1].i AS i, ranked[rank - 1].score AS score, drawings[rank - 1] AS graph
RETURN rank, i.id AS id, score, basis, m.kind AS kind, m.version AS version,
       [key IN keys(i) WHERE key <> 'id' AND NOT key STARTS WITH '~embedding_v' | [key, i[key]]] AS properties, graph
