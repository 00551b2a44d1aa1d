// How many User, Item and Group nodes hold the property $property (checks a write-back before it is
// marked ready, and finds leftovers of a version).
// Returns one row: nodes. Parameters: $property: property name.
:param property => '~embedding_v1';
MATCH (n:User|Item|Group)
WHERE n[$property] IS NOT NULL
RETURN count(n) AS nodes
