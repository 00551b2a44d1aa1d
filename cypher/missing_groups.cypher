// Which of the given ids have no Group node.
// Parameters: $ids: list of integer ids.
:param ids => [1, 2, 3]
UNWIND $ids AS id
OPTIONAL MATCH (n:Group {id: id})
WITH id, n WHERE n IS NULL
RETURN collect(id) AS missing
