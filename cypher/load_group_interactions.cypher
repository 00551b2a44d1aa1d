// Upsert (:Group)-[:INTERACTED {weight, ts, split, negatives}]->(:Item), one relationship per pair.
// Parameters: $rows: list of [group id, item id, weight (float), ts (Unix seconds or null),
//   split ('train'|'valid'|'test'), negatives (list of item ids or null)]. Both nodes must exist.
// Run by graphrec.load in batches; idempotent (a re-load overwrites the properties).
UNWIND $rows AS row
MATCH (s:Group {id: row[0]})
MATCH (i:Item {id: row[1]})
MERGE (s)-[r:INTERACTED]->(i)
SET r.weight = row[2], r.ts = row[3], r.split = row[4], r.negatives = row[5]
