// The vectors of the given nodes under one embedding version: the active one when $version is null.
// Returns at most one row (none when there is no such model): version, ids (the ids that have a node of
// that label holding a vector), vectors (aligned with ids).
// Parameters: $label: 'User', 'Item' or 'Group'; $ids: list of integer ids; $version: integer or null.
:param label => 'User';
:param ids => [1, 2, 3];
:param version => null;
MATCH (m:Model)
WHERE ($version IS NULL AND m.active) OR m.version = $version
WITH m ORDER BY m.version DESC LIMIT 1
CALL (m) {
  UNWIND $ids AS id
  CALL (id) {
    MATCH (n:User {id: id}) WHERE $label = 'User' RETURN n
    UNION ALL
    MATCH (n:Item {id: id}) WHERE $label = 'Item' RETURN n
    UNION ALL
    MATCH (n:Group {id: id}) WHERE $label = 'Group' RETURN n
  }
  WITH id, n[m.property] AS vector
  WHERE vector IS NOT NULL
  RETURN collect(id) AS ids, collect(vector) AS vectors
}
RETURN m.version AS version, ids, vectors
