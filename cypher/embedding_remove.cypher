// Remove the properties $properties from every User, Item and Group node, $batch_size nodes per
// transaction (run in an auto-commit session). Used by prune and to clear leftovers of a version number.
// Returns one row: nodes (how many nodes held one of them).
// Parameters: $properties: list of property names; $batch_size: integer.
:param properties => [];
:param batch_size => 10000;
:auto
MATCH (n:User|Item|Group)
WHERE any(key IN $properties WHERE n[key] IS NOT NULL)
CALL (n) {
  UNWIND $properties AS key
  REMOVE n[key]
} IN TRANSACTIONS OF $batch_size ROWS
RETURN count(n) AS nodes
