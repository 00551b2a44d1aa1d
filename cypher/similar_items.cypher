// The $k items most similar to item $item under the active model version, by $by, and how (column `basis`).
// $by = 'graph' (default): what the model learned from the interactions:
//   'cosine'   models of vectors alone (LightGCN, MF): cosine similarity of the item vectors, in [-1, 1];
//              candidates: every item when the model has at most $exact_max_items items, otherwise the
//              $k + 1 + $oversample nearest neighbours in the version's cosine vector index;
//   'weight'   models with item–item weights (item-kNN, graph filters): the score a user whose only item is
//              $item would give each item, w($item -> j) (+ a . v_j with the item's fold vector a when the model
//              has vectors); candidates: the item's weighted neighbours (SIMILAR_vN relationships).
// $by = 'text' (a version with text vectors, graphrec.encoder): 'text', the cosine of the items' text vectors
//   (similarity in meaning), in [-1, 1]; candidates: every item up to $exact_max_items, else the $k + 1 +
//   $oversample nearest in the version's text index (item_embedding_vN_text).
// $by = 'both': 'cosine+text' or 'weight+text', the mean of the graph and the text similarity; candidates: those
//   of both; a text candidate the item has no weight to counts w = 0 (fold part left out) on the graph side.
// Items whose properties do not equal every entry of $filter are left out.
// Returns up to $k rows, most similar first (ties by id): rank, id, similarity, basis, kind, version,
// properties ([name, value] pairs, vectors left out). No row when the model can say nothing of the item (no
// vector, no neighbours, no text vector for 'text' and 'both') or there is no active model.
// Parameters: $item: item id; $k: integer >= 1; $by: 'graph', 'text' or 'both'; $filter: map;
// $exact_max_items: integer; $oversample: integer >= 0.
:param item => 1001;
:param k => 10;
:param by => 'graph';
:param filter => ({});
:param exact_max_items => 2000;
:param oversample => 20;
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
MATCH (i:Item {id: $item})
WITH m, i, CASE WHEN m.similar IS NOT NULL THEN 'weight' ELSE 'cosine' END AS side
WHERE ($by = 'text' OR side = 'weight' OR i[m.property] IS NOT NULL)
  AND ($by = 'graph' OR i[m.text_property] IS NOT NULL)
WITH m, i, side, CASE $by WHEN 'graph' THEN side WHEN 'text' THEN 'text' ELSE side + '+text' END AS basis,
     $by <> 'text' AS graph, $by <> 'graph' AS text
CALL (m, i, side, graph, text) {
    UNWIND CASE WHEN graph AND side = 'cosine' AND m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (j:Item) WHERE j[m.property] IS NOT NULL
    RETURN j, 2 * vector.similarity.cosine(i[m.property], j[m.property]) - 1 AS g, null AS t
  UNION ALL
    UNWIND CASE WHEN graph AND side = 'cosine' AND m.items > $exact_max_items THEN [1] ELSE [] END AS branch
    CALL db.index.vector.queryNodes(m.similarity_index, $k + 1 + $oversample, i[m.property]) YIELD node AS j, score AS s
    RETURN j, 2 * s - 1 AS g, null AS t
  UNION ALL
    UNWIND CASE WHEN graph AND side = 'weight' THEN [1] ELSE [] END AS branch
    MATCH (i)-[r:$(m.similar)]->(j:Item)
    WITH m, i, j, r.weight AS w, i[m.fold_property] AS a
    RETURN j, w + CASE WHEN a IS NULL OR j[m.mips_property] IS NULL THEN 0.0
        ELSE (reduce(s = 0.0, x IN a | s + x * x) + m.max_item_norm ^ 2
              - 1.0 / vector.similarity.euclidean(a + [0.0], j[m.mips_property]) + 1.0) / 2 END AS g, null AS t
  UNION ALL
    UNWIND CASE WHEN text AND m.items <= $exact_max_items THEN [1] ELSE [] END AS branch
    MATCH (j:Item) WHERE j[m.text_property] IS NOT NULL
    RETURN j, null AS g, 2 * vector.similarity.cosine(i[m.text_property], j[m.text_property]) - 1 AS t
  UNION ALL
    UNWIND CASE WHEN text AND m.items > $exact_max_items THEN [1] ELSE [] END AS branch
    CALL db.index.vector.queryNodes(m.text_index, $k + 1 + $oversample, i[m.text_property]) YIELD node AS j, score AS s
    RETURN j, null AS g, 2 * s - 1 AS t
}
WITH m, basis, graph, text, side, i, j, max(g) AS g, max(t) AS t
WHERE j <> i AND all(key IN keys($filter) WHERE j[key] = $filter[key])
WITH m, basis, j, CASE
       WHEN NOT text THEN g
       WHEN NOT graph THEN t
       ELSE (coalesce(g, CASE WHEN side = 'cosine' AND j[m.property] IS NOT NULL
                              THEN 2 * vector.similarity.cosine(i[m.property], j[m.property]) - 1 ELSE 0.0 END)
             + coalesce(t, CASE WHEN j[m.text_property] IS NOT NULL
                                THEN 2 * vector.similarity.cosine(i[m.text_property], j[m.text_property]) - 1
                                ELSE 0.0 END)) / 2 END AS similarity
ORDER BY similarity DESC, j.id
LIMIT $k
WITH m, basis, collect({j: j, similarity: similarity}) AS ranked
UNWIND range(1, size(ranked)) AS rank
WITH m, basis, rank, ranked[rank - 1].j AS j, ranked[rank - 1].similarity AS similarity
RETURN rank, j.id AS id, similarity, basis, m.kind AS kind, m.version AS version,
       [key IN keys(j) WHERE key <> 'id' AND NOT key STARTS WITH '~embedding_v' | [key, j[key]]] AS properties
