// The state of the index $name ('ONLINE', 'POPULATING', 'FAILED'); no row when there is no such index.
// Returns at most one row: state. Parameters: $name: index name.
:param name => 'item_embedding_v1_cosine';
SHOW INDEXES YIELD name, state
WHERE name = $name
RETURN state
