// Upsert (:User)-[:INTERACTED]->(:Item), the user's training interactions, one relationship per pair, its
// properties replaced by the row's.
// Parameters: $rows: list of [user id, item id, properties], the properties a map of weight (float) and
//   ts (Unix seconds), absent keys omitted. Both nodes must exist.
// Run by graphrec.load in batches; idempotent (a re-load leaves exactly the row's properties).
:param rows => [];
UNWIND $rows AS row
MATCH (s:User {id: row[0]})
MATCH (i:Item {id: row[1]})
MERGE (s)-[r:INTERACTED]->(i)
SET r = row[2]
