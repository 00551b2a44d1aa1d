// Delete every relationship of type $type (one model version's item–item weights), $batch_size per
// transaction (run in an auto-commit session). Used by prune and to clear leftovers of a version number.
// Returns one row: relationships (how many were deleted).
// Parameters: $type: relationship type (SIMILAR_v<N>); $batch_size: integer.
:param type => 'SIMILAR_v0';
:param batch_size => 10000;
MATCH (:Item)-[r:$($type)]->(:Item)
CALL (r) {
  DELETE r
} IN TRANSACTIONS OF $batch_size ROWS
RETURN count(r) AS relationships
