// The active embedding model: its vectors are the node property named by `property` (read them as
// n[m.property]); item vectors augmented for inner-product search are in `mips_property`, their plain
// vectors indexed by the cosine vector index `similarity_index`. Newest first should a reader ever observe
// two (it cannot once activation committed).
// Returns at most one row: model (map of the Model node's properties). Parameters: none.
MATCH (m:Model {active: true})
RETURN m {.*} AS model
ORDER BY m.version DESC
LIMIT 1
