// The database's indexes and constraints other than the token lookup indexes (a constraint is listed by its
// index of the same name). A bulk load (graphrec.load.bulk) builds a new store and re-applies graphrec's schema
// only, so it refuses a database with any other one rather than drop it.
// Returns one row: names (list of strings).
// Parameters: none.
SHOW INDEXES YIELD name, type
WHERE type <> 'LOOKUP'
RETURN collect(name) AS names
