// Delete the Model node of a version that is being pruned (status 'deleting', never the active one).
// Run last, after its index and vectors are gone, so an interrupted prune stays visible and is resumed.
// Returns one row: deleted (0 or 1). Parameters: $version: integer.
:param version => 0;
OPTIONAL MATCH (m:Model {version: $version})
WHERE m.status = 'deleting' AND NOT m.active
DELETE m
RETURN count(m) AS deleted
