// Create the vector index $name on the items' vectors of one model version. Up to three per version:
// - item_embedding_v<N>_mips, euclidean, on the vectors augmented for maximum-inner-product search: item
//   vectors v are stored with one extra coordinate sqrt(M^2 - |v|^2) (M: the largest item norm), so all have
//   norm M; a query (u, 0) then has |(u,0) - (v,a)|^2 = |u|^2 + M^2 - 2 u.v, and the nearest items by
//   euclidean distance are the items of highest inner product u.v (recommend_user, recommend_group).
//   Euclidean rather than cosine because it also accepts all-zero vectors.
// - item_embedding_v<N>_cosine, cosine, on the plain vectors: the most similar items (similar_items);
// - item_embedding_v<N>_text, cosine, on the text vectors (a version with text): similar items by meaning.
// Quantization off: with the 5.26 default (on), the index's approximate scores reordered even the top 3 of
// 50 items; full float32 vectors cost 4 bytes per coordinate.
// Placeholder: {property} (inside the backticks) is replaced by graphrec.writeback with the indexed
// property's name after it matched ^~embedding_v[1-9][0-9]*(_mips|_fold|_text)?$; a property name cannot be a parameter
// in Neo4j 5 DDL. Run as is in Browser, it indexes a property literally named "{property}".
// Parameters: $name: index name; $dimensions: vector dimension (+ 1 when augmented);
// $similarity: 'euclidean' or 'cosine'.
:param name => 'graphrec_example_index';
:param dimensions => 65;
:param similarity => 'euclidean';
CREATE VECTOR INDEX $name FOR (n:Item) ON n.`{property}`
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: $similarity,
                      `vector.quantization.enabled`: false}}
