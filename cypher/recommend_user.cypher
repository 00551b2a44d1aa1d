// Top-$k items for user $user under the active model, by the inner product of the user's vector with each
// item's, leaving out the items the user interacted with, the ids in $exclude and items whose properties do
// not equal every entry of $filter (e.g. {category: 'book'}).
// The user's vector (column `basis`):
//   'embedding'  the trained one;
//   'folded_in'  a user new since the training: one LightGCN propagation step over the items they interacted
//                with, q = sum_i v_i / sqrt(|N(u)| |N(i)|) (N: interactions now), no retraining;
//   'popular'    a user with no vector and no interactions with trained items gets the most interacted-with items
//                (score: their number of interactions).
// Candidates: every item when the model has at most $exact_max_items items (an exact scan); otherwise the
// $k + |seen| + |$exclude| + $oversample nearest neighbours of (q, 0) in the model's MIPS vector index (item vectors
// augmented to one norm M, see embedding_index_create). Scores are exact either way:
// q.v = (|q|^2 + M^2 - d^2) / 2 with d^2 = 1 / vector.similarity.euclidean(...) - 1 (float32 arithmetic).
// Returns up to $k rows, best first (ties by id): rank, id, score, basis, version, properties
// (the item's other properties as [name, value] pairs, vectors left out), graph (with $draw, what Browser draws
// for the row, see below; else null). No row when the user or an active model does not exist.
// Parameters: $user: user id; $k: integer >= 1; $filter: map of item property -> required value;
// $exclude: list of item ids; $exact_max_items: integer; $oversample: integer >= 0; $draw: boolean.
:param user => 1;
:param k => 10;
:param filter => ({});
:param exclude => [];
:param exact_max_items => 5000;
:param oversample => 100;
:param draw => true;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (u:User {id: $user})
WITH m, u, COLLECT { MATCH (u)-[:INTERACTED]->(i:Item) RETURN i } AS seen
WITH m, u, seen, CASE WHEN u[m.property] IS NULL THEN [i IN seen WHERE i[m.property] IS NOT NULL |
     {v: i[m.property], w: 1.0 / sqrt(toFloat(size(seen)) * COUNT { (i)<-[:INTERACTED]-() })}] END AS trained
WITH m, seen, CASE WHEN u[m.property] IS NOT NULL THEN 'embedding'
                   WHEN size(trained) > 0 THEN 'folded_in' ELSE 'popular' END AS basis,
     coalesce(u[m.property], CASE WHEN size(trained) > 0
              THEN [j IN range(0, m.dim - 1) | reduce(s = 0.0, t IN trained | s + t.w * t.v[j])] END) AS q
WITH m, seen, basis, q, reduce(s = 0.0, x IN coalesce(q, []) | s + x * x) + m.max_item_norm ^ 2 AS norms,
     $k + size(seen) + size($exclude) AS enough
CALL (m, basis, q, norms, enough) {
    UNWIND CASE WHEN basis = 'popular' THEN [1] ELSE [] END AS branch
    MATCH (i:Item) WHERE all(key IN keys($filter) WHERE i[key] = $filter[key])
    WITH enough, i, toFloat(COUNT { (i)<-[:INTERACTED]-() }) AS score
    ORDER BY score DESC, i.id
    WITH enough, collect({i: i, score: score}) AS ranked
    UNWIND ranked[..enough] AS t
    RETURN t.i AS i, t.score AS score
  UNION ALL
    UNWIND CASE WHEN q IS NOT NULL AND m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (i:Item) WHERE i[m.mips_property] IS NOT NULL AND all(key IN keys($filter) WHERE i[key] = $filter[key])
    WITH enough, i, (norms - 1.0 / vector.similarity.euclidean(q + [0.0], i[m.mips_property]) + 1.0) / 2 AS score
    ORDER BY score DESC, i.id
    WITH enough, collect({i: i, score: score}) AS ranked
    UNWIND ranked[..enough] AS t
    RETURN t.i AS i, t.score AS score
  UNION ALL
    WITH * WHERE q IS NOT NULL AND m.items > $exact_max_items
    CALL db.index.vector.queryNodes(m.index, enough + $oversample, q + [0.0]) YIELD node AS i, score AS s
    RETURN i, (norms - 1.0 / s + 1.0) / 2 AS score
}
WITH m, basis, i, score WHERE NOT i IN seen AND NOT i.id IN $exclude
                             AND all(key IN keys($filter) WHERE i[key] = $filter[key])
ORDER BY score DESC, i.id
LIMIT $k
WITH m, basis, collect({i: i, score: score}) AS ranked
// Browser's drawing, only with $draw (graphrec/cypher_files.py): per rank, the user -[:RECOMMENDED {rank,
// score}]-> the item, and why: the user -[:INTERACTED]-> their own item most similar to it -[:SIMILAR
// {similarity: cosine}]-> the item; APOC virtual nodes (without vectors) and relationships.
OPTIONAL CALL (m, ranked) {
    WITH * WHERE $draw
    MATCH (u:User {id: $user})
    UNWIND range(1, size(ranked)) AS rank
    OPTIONAL CALL (m, u, ranked, rank) {
        MATCH (u)-[seen:INTERACTED]->(j:Item)
        WHERE j[m.property] IS NOT NULL AND ranked[rank - 1].i[m.property] IS NOT NULL
        RETURN seen, j, 2 * vector.similarity.cosine(j[m.property], ranked[rank - 1].i[m.property]) - 1 AS similarity
        ORDER BY similarity DESC, j.id
        LIMIT 1
    }
    WITH u, collect({rank: rank, i: ranked[rank - 1].i, score: ranked[rank - 1].score, seen: seen, j: j,
                     similarity: similarity}) AS why
    CALL (u, why) {
        UNWIND [u] + [w IN why | w.i] + [w IN why WHERE w.j IS NOT NULL | w.j] AS n
        WITH DISTINCT n
        RETURN collect({n: n, v: apoc.create.virtual.fromNode(n, [key IN keys(n) WHERE NOT key STARTS WITH 'embedding_v'])}) AS virtual
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
            [x IN virtual WHERE x.n = w.j | apoc.create.vRelationship(x.v, 'SIMILAR', {similarity: round(w.similarity, 3)},
                                                                      [y IN virtual WHERE y.n = w.i][0].v)]] AS drawings
}
UNWIND range(1, size(ranked)) AS rank
WITH m, basis, rank, ranked[rank - 1].i AS i, ranked[rank - 1].score AS score, drawings[rank - 1] AS graph
RETURN rank, i.id AS id, score, basis, m.version AS version,
       [key IN keys(i) WHERE key <> 'id' AND NOT key STARTS WITH 'embedding_v' | [key, i[key]]] AS properties, graph
