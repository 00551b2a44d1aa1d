// recommend_user.cypher without graphrec's procedures, in built-in Cypher only (and APOC core for $draw): for a
// server without graphrec's plugin, such as Aura. graphrec.recommend.Recommender sends it when the server lacks
// graphrec.topItems, graphrec.itemWeights or graphrec.mmr (it says so once on standard error).
// The same answers as recommend_user.cypher's exact scan: the top-$k items for user $user under the active model
// version, leaving out the items the user interacted with, the ids in $exclude and items whose properties do not
// equal every entry of $filter, by the one formula of graphrec.model.base:
//   score(u, i) = sum over the user's items j of w(j -> i)   [(:Item)-[:SIMILAR_vN {weight}]->(:Item), if any]
//               + q . v_i                                    [item vectors v_i, if any]
// with q and the column `basis` ('embedding', 'folded_in' or 'popular') as in recommend_user.cypher.
// Candidates: every item with a vector (an exact scan, whatever the catalogue's size: 0.35 s a user on Gowalla's
// 41k items when idle, 1.8 s under load), plus the items the user's items have a weight to, their weights summed by
// expanding the SIMILAR_vN relationships here (graphrec.itemWeights does that natively); a model without vectors
// ranks only those, so it may return fewer than $k. q . v_i = (|q|^2 + M^2 - d^2) / 2 with d^2 = 1 /
// vector.similarity.euclidean(...) - 1 on the items' MIPS vectors (augmented to one norm M, see
// embedding_index_create; float32 arithmetic), as in recommend_user.cypher: the same scores.
// Returns up to $k rows, best first (ties by id): rank, id, score, basis, kind, version, properties, graph (with
// $draw, what Browser draws for the row; else null), as recommend_user.cypher. No row when the user or an active
// model does not exist.
// Diversity: with $diversity lambda > 0, MMR re-ranks the 3 $k best in a Cypher reduce that computes what
// graphrec.mmr computes (see the step below; float64 arithmetic, the same picks).
// Parameters: $user: user id; $k: integer >= 1; $filter: map of item property -> required value;
// $exclude: list of item ids; $draw: boolean; $diversity: MMR weight lambda in [0, 1] or null (none, the
// default); $diversity_by: 'graph' or 'text'.
:param user => 1;
:param k => 10;
:param filter => ({});
:param exclude => [];
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
     reduce(s = 0.0, x IN coalesce(q, []) | s + x * x) + coalesce(m.max_item_norm, 0.0) ^ 2 AS norms,
     $k + size(seen) + size($exclude) AS enough,
     m.property IS NOT NULL AS scan
CALL (m, seen, q, basis, enough, scan) {
    CALL (m, seen, q, basis, enough, scan) {
        UNWIND CASE WHEN basis = 'popular' THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE all(key IN keys($filter) WHERE i[key] = $filter[key])
        WITH enough, i, toFloat(COUNT { (i)<-[:INTERACTED]-() }) AS popularity
        ORDER BY popularity DESC, i.id
        WITH enough, collect({i: i, w: popularity}) AS ranked
        UNWIND ranked[..enough] AS t
        RETURN t.i AS i, t.w AS w
      UNION ALL
        UNWIND CASE WHEN basis <> 'popular' AND m.similar IS NOT NULL THEN seen ELSE [] END AS j
        MATCH (j)-[s:$(m.similar)]->(i:Item)
        RETURN i, s.weight AS w
      UNION ALL
        UNWIND CASE WHEN basis <> 'popular' AND scan THEN [1] ELSE [] END AS branch
        MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL
        RETURN i, 0.0 AS w
    }
    RETURN i, sum(w) AS weights
}
WITH m, seen, basis, q, norms, i, weights
WHERE NOT i IN seen AND NOT i.id IN $exclude AND all(key IN keys($filter) WHERE i[key] = $filter[key])
WITH m, basis, i, weights + CASE WHEN q IS NULL OR i[m.mips_property] IS NULL THEN 0.0
     ELSE (norms - 1.0 / vector.similarity.euclidean(q + [0.0], i[m.mips_property]) + 1.0) / 2 END AS score
ORDER BY score DESC, i.id
LIMIT CASE WHEN coalesce($diversity, 0.0) > 0 THEN 3 * $k ELSE $k END
WITH m, basis, collect({i: i, score: score}) AS ranked
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
         [r IN ranked | CASE WHEN lambda > 0 AND vp IS NOT NULL THEN r.i[vp] END] AS vectors
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
WITH m, basis, diverse AS ranked
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
