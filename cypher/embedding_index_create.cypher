// Create the vector index $name on the items' augmented vectors, for maximum-inner-product search.
// Item vectors v are stored with one extra coordinate sqrt(M^2 - |v|^2) (M: the largest item norm), so all
// have norm M; a query (u, 0) then has |(u,0) - (v,a)|^2 = |u|^2 + M^2 - 2 u.v, and the nearest items by
// euclidean distance are the items of highest inner product u.v. Euclidean rather than cosine because it
// also accepts all-zero vectors. Quantization off: with the 5.26 default (on), the index's approximate scores
// reordered even the top 3 of 50 items; full float32 vectors cost 4 bytes per coordinate.
// Placeholder: {property} (inside the backticks) is replaced by graphrec.writeback with the augmented
// property's name after it matched ^embedding_v[1-9][0-9]*_mips$; a property name cannot be a parameter
// in Neo4j 5 DDL. Run as is in Browser, it indexes a property literally named "{property}".
// Parameters: $name: index name (item_embedding_v<N>_mips); $dimensions: vector dimension + 1.
:param name => 'item_embedding_v1_mips'
:param dimensions => 65
CREATE VECTOR INDEX $name FOR (n:Item) ON n.`{property}`
OPTIONS {indexConfig: {`vector.dimensions`: $dimensions, `vector.similarity_function`: 'euclidean',
                      `vector.quantization.enabled`: false}}
