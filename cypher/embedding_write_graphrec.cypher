// Store vectors on the $label nodes with graphrec's procedure graphrec.writeVectors (graphrec's plugin; float32
// arrays, as embedding_write_procedure stores them): for each row, a packed batch of nodes, row.ids (bytes:
// little-endian int64), and their vectors, $width numbers each, one after the other in row.values (bytes:
// little-endian float32). The first $dim of each vector are stored as
// $property, and when $mips_property is not null (items, augmented for inner-product search: $width = $dim + 1)
// all $width as $mips_property. Nodes are found by label and id (checked before). graphrec sends one row per
// transaction. Returns one row: written (nodes).
// Parameters: $label: 'User', 'Item' or 'Group'; $property, $mips_property: property names (~embedding_v<N>,
// ~embedding_v<N>_mips or null); $width, $dim: integers; $rows: list of {ids: bytes, values: bytes}.
:param label => 'Item';
:param property => '~embedding_v1';
:param mips_property => '~embedding_v1_mips';
:param width => 3;
:param dim => 2;
:param rows => [];
UNWIND $rows AS row
CALL graphrec.writeVectors($label, row.ids, row.values, $width, $dim, $property, $mips_property) YIELD written
RETURN sum(written) AS written
