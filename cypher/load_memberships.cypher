// Link users to their groups: (:User)-[:MEMBER_OF]->(:Group). Both nodes must exist.
// Parameters: $rows: list of [user id, group id].
// Run by graphrec.load in batches; idempotent.
:param rows => [];
UNWIND $rows AS row
MATCH (u:User {id: row[0]})
MATCH (g:Group {id: row[1]})
MERGE (u)-[:MEMBER_OF]->(g)
