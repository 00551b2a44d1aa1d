// The number the next embedding version gets: the highest existing version + 1 (1 when there is none).
// Returns one row: version (integer). Parameters: none.
MATCH (m:Model)
RETURN coalesce(max(m.version), 0) + 1 AS version
