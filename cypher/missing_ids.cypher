// Which of the given ids have no node of the label $label (checked before a load references members or
// groups, before an export walks from seed ids, and before a write-back writes anything; graphrec sends it
// through graphrec.db.nodes.missing_ids, at most 50,000 ids at a time).
// The label is a parameter: each UNION branch seeks its label's unique id index and only the branch of
// $label keeps its rows (a dynamic label, MATCH (n:$($label)), scans all nodes in 5.26).
// Returns one row: missing (list of ids).
// Parameters: $label: 'User', 'Item' or 'Group'; $ids: list of integer ids.
:param label => 'User';
:param ids => [1, 2, 3];
UNWIND $ids AS id
OPTIONAL CALL (id) {
  MATCH (n:User {id: id}) WHERE $label = 'User' RETURN n
  UNION ALL
  MATCH (n:Item {id: id}) WHERE $label = 'Item' RETURN n
  UNION ALL
  MATCH (n:Group {id: id}) WHERE $label = 'Group' RETURN n
}
WITH id, n WHERE n IS NULL
RETURN collect(id) AS missing
