// How many nodes the database holds: a bulk load (graphrec.load.bulk) only imports into a database with none.
// Returns one row: nodes (integer).
// Parameters: none.
MATCH (n)
RETURN count(n) AS nodes
