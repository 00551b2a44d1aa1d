// Upsert User nodes by id and set their properties (a property given as null is removed).
// Parameters: $rows: list of {id: integer, props: map of property name to value}.
// Run by graphrec.load in batches; idempotent.
:param rows => [];
UNWIND $rows AS row
MERGE (n:User {id: row.id})
SET n += row.props
