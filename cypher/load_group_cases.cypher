// Upsert (:Group)-[:HELD_OUT]->(:Item), the group's held-out evaluation cases, one relationship per case,
// keyed by (pair, split, line): a pair may have several cases and may also be an interaction (INTERACTED).
// Parameters: $rows: list of [group id, item id, properties], the properties a map of split ('valid'|'test'),
//   line (the input line of the case), weight (float), ts (Unix seconds) and negatives (list of item ids),
//   absent keys omitted. Both nodes must exist.
// Run by graphrec.load in batches; idempotent (a re-load leaves exactly the row's properties).
:param rows => [];
UNWIND $rows AS row
MATCH (s:Group {id: row[0]})
MATCH (i:Item {id: row[1]})
MERGE (s)-[r:HELD_OUT {split: row[2].split, line: row[2].line}]->(i)
SET r = row[2]
