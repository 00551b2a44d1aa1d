// The $k items most similar to item $item under the active model: cosine similarity of their vectors
// (in [-1, 1]). Candidates: every item when the model has at most $exact_max_items items, otherwise the
// $k + 1 + $oversample nearest neighbours in the model's cosine vector index (similarity_index).
// Items whose properties do not equal every entry of $filter are left out.
// Returns up to $k rows, most similar first (ties by id): rank, id, similarity, version, properties
// ([name, value] pairs, vectors left out). No row when the item has no vector or there is no active model.
// Parameters: $item: item id; $k: integer >= 1; $filter: map; $exact_max_items: integer; $oversample: integer >= 0.
:param item => 1001;
:param k => 10;
:param filter => ({});
:param exact_max_items => 2000;
:param oversample => 20;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (i:Item {id: $item}) WHERE i[m.property] IS NOT NULL
WITH m, i, i[m.property] AS v
CALL (m, i, v) {
    UNWIND CASE WHEN m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (j:Item) WHERE j[m.property] IS NOT NULL
    RETURN j, vector.similarity.cosine(v, j[m.property]) AS s
  UNION ALL
    UNWIND CASE WHEN m.items > $exact_max_items THEN [1] ELSE [] END AS branch
    CALL db.index.vector.queryNodes(m.similarity_index, $k + 1 + $oversample, v) YIELD node AS j, score AS s
    RETURN j, s
}
WITH m, j, 2 * s - 1 AS similarity
WHERE j <> i AND all(key IN keys($filter) WHERE j[key] = $filter[key])
ORDER BY similarity DESC, j.id
LIMIT $k
WITH m, collect({j: j, similarity: similarity}) AS ranked
UNWIND range(1, size(ranked)) AS rank
WITH m, rank, ranked[rank - 1].j AS j, ranked[rank - 1].similarity AS similarity
RETURN rank, j.id AS id, similarity, m.version AS version,
       [key IN keys(j) WHERE key <> 'id' AND NOT key STARTS WITH 'embedding_v' | [key, j[key]]] AS properties
