// Which of the procedures $names the server has: graphrec.writeback writes with graphrec's own write
// procedures (graphrec.writeSimilar, graphrec.writeVectors) where it finds them, else with plain Cypher.
// Returns one row: names (those found).
// Parameters: $names: list of procedure names.
:param names => ['graphrec.writeSimilar', 'graphrec.writeVectors'];
SHOW PROCEDURES YIELD name
WHERE name IN $names
RETURN collect(name) AS names
