// The $k items most similar to item $item under the active model version, and how (column `basis`):
//   'cosine'   models of vectors alone (LightGCN, MF): cosine similarity of the item vectors, in [-1, 1];
//              candidates: every item when the model has at most $exact_max_items items, otherwise the
//              $k + 1 + $oversample nearest neighbours in the version's cosine vector index;
//   'weight'   models with item–item weights (item-kNN, graph filters): the score a user whose only item is
//              $item would give each item, w($item -> j) (+ a . v_j with the item's fold vector a when the model
//              has vectors); candidates: the item's weighted neighbours (SIMILAR_vN relationships).
// Items whose properties do not equal every entry of $filter are left out.
// Returns up to $k rows, most similar first (ties by id): rank, id, similarity, basis, kind, version,
// properties ([name, value] pairs, vectors left out). No row when the model can say nothing of the item (no
// vector, no neighbours) or there is no active model.
// Parameters: $item: item id; $k: integer >= 1; $filter: map; $exact_max_items: integer; $oversample: integer >= 0.
:param item => 1001;
:param k => 10;
:param filter => ({});
:param exact_max_items => 2000;
:param oversample => 20;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (i:Item {id: $item})
WITH m, i, CASE WHEN m.similar IS NOT NULL THEN 'weight' ELSE 'cosine' END AS basis
WHERE basis = 'weight' OR i[m.property] IS NOT NULL
CALL (m, i, basis) {
    UNWIND CASE WHEN basis = 'cosine' AND m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (j:Item) WHERE j[m.property] IS NOT NULL
    RETURN j, 2 * vector.similarity.cosine(i[m.property], j[m.property]) - 1 AS similarity
  UNION ALL
    UNWIND CASE WHEN basis = 'cosine' AND m.items > $exact_max_items THEN [1] ELSE [] END AS branch
    CALL db.index.vector.queryNodes(m.similarity_index, $k + 1 + $oversample, i[m.property]) YIELD node AS j, score AS s
    RETURN j, 2 * s - 1 AS similarity
  UNION ALL
    UNWIND CASE WHEN basis = 'weight' THEN [1] ELSE [] END AS branch
    MATCH (i)-[r:$(m.similar)]->(j:Item)
    WITH m, i, j, r.weight AS w, i[m.fold_property] AS a
    RETURN j, w + CASE WHEN a IS NULL OR j[m.mips_property] IS NULL THEN 0.0
        ELSE (reduce(s = 0.0, x IN a | s + x * x) + m.max_item_norm ^ 2
              - 1.0 / vector.similarity.euclidean(a + [0.0], j[m.mips_property]) + 1.0) / 2 END AS similarity
}
WITH m, basis, i, j, similarity
WHERE j <> i AND all(key IN keys($filter) WHERE j[key] = $filter[key])
ORDER BY similarity DESC, j.id
LIMIT $k
WITH m, basis, collect({j: j, similarity: similarity}) AS ranked
UNWIND range(1, size(ranked)) AS rank
WITH m, basis, rank, ranked[rank - 1].j AS j, ranked[rank - 1].similarity AS similarity
RETURN rank, j.id AS id, similarity, basis, m.kind AS kind, m.version AS version,
       [key IN keys(j) WHERE key <> 'id' AND NOT key STARTS WITH 'embedding_v' | [key, j[key]]] AS properties
