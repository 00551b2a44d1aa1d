// Every embedding Model, oldest first, with its status ('writing', 'ready', 'deleting') and active flag.
// Returns one row per Model: model (map of its properties). Parameters: none.
MATCH (m:Model)
RETURN m {.*} AS model
ORDER BY m.version
