// The $k items of highest inner product with the query vector $vector under the active model, found by its
// item vector index: the query is augmented with a 0 coordinate (see embedding_index_create), the index
// returns approximate nearest neighbours, and the rows carry the exact inner product for re-ranking.
// Returns up to $k rows, nearest first: id, score (index similarity), inner_product.
// Parameters: $vector: list of floats (the model's dimension); $k: integer.
:param vector => [0.5, -0.25]
:param k => 10
MATCH (m:Model {active: true})
WITH m ORDER BY m.version DESC LIMIT 1
CALL db.index.vector.queryNodes(m.index, $k, $vector + [0.0]) YIELD node, score
WITH node, score, node[m.property] AS v
RETURN node.id AS id, score, reduce(s = 0.0, i IN range(0, size(v) - 1) | s + v[i] * $vector[i]) AS inner_product
ORDER BY score DESC
