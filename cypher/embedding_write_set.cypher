// Store vectors on the $label nodes with a plain dynamic SET (lists of 64-bit floats):
// the first $dim coordinates of row.vec as $property, and when $mips_property is not null (items) the whole
// row.vec, augmented for inner-product search ($dim + 1 coordinates), as $mips_property. Sending items'
// vectors once, augmented, saves a third of the transfer, which bounds the write's speed.
// Nodes are found by label and id as in missing_ids (checked before). The alternative to
// embedding_write_procedure, kept for benchmarks/bench_writeback.py.
// Parameters: $label: 'User', 'Item' or 'Group'; $property, $mips_property: property names (~embedding_v<N>,
// ~embedding_v<N>_mips or null); $dim: integer; $rows: list of {id: integer, vec: list of floats}.
:param label => 'Item';
:param property => '~embedding_v1';
:param mips_property => '~embedding_v1_mips';
:param dim => 2;
:param rows => [];
UNWIND $rows AS row
CALL (row) {
  MATCH (n:User {id: row.id}) WHERE $label = 'User' RETURN n
  UNION ALL
  MATCH (n:Item {id: row.id}) WHERE $label = 'Item' RETURN n
  UNION ALL
  MATCH (n:Group {id: row.id}) WHERE $label = 'Group' RETURN n
}
SET n[$property] = row.vec[0..$dim]
WITH n, row
CALL (n, row) { WITH * WHERE $mips_property IS NOT NULL SET n[$mips_property] = row.vec }
