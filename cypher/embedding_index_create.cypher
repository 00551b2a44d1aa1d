// Create the vector index $name on the items' vectors of one model version. Up to two per version:
// - item_embedding_v<N>_cosine, cosine, on the plain vectors: the most similar items (similar_items);
// - item_embedding_v<N>_text, cosine, on the text vectors (a version with text): similar items by meaning.
// The vectors augmented for maximum-inner-product search (~embedding_v<N>_mips) have no index: serving reads
// them directly (recommend_user, recommend_group, similar_items) and ranks large catalogues exactly with the
// procedure graphrec.topItems. Versions written before also had item_embedding_v<N>_mips, euclidean, on
// them, which no query used; removing such a version drops it.
// Quantization off: with the 5.26 default (on), the index's approximate scores reordered even the top 3 of
// 50 items; full float32 vectors cost 4 bytes per coordinate.
// Placeholder: {property} (inside the backticks) is replaced by graphrec.writeback with the indexed
// property's name after it matched ^~embedding_v[1-9][0-9]*(_mips|_fold|_text)?$; a property name cannot be a parameter
// in Neo4j 5 DDL. Run as is in Browser, it indexes a property literally named "{property}".
// Parameters: $name: index name; $dimensions: vector dimension; $similarity: 'cosine' (or 'euclidean').
:param name => 'graphrec_example_index';
:param dimensions => 64;
:param similarity => 'cosine';
CREATE VECTOR INDEX $name FOR (n:Item) ON n.`{property}`
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: $similarity,
                      `vector.quantization.enabled`: false}}
