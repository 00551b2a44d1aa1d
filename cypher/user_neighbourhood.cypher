// A user's neighbourhood for Neo4j Browser (graphrec's guide): the user with the items they interacted with and
// the groups they belong to, at most $limit paths, drawn as a graph.
// Returns one row per path: path.
// Parameters: $user: user id; $limit: integer >= 1.
:param user => 1;
:param limit => 50;
MATCH path = (:User {id: $user})-[:INTERACTED|MEMBER_OF]->()
RETURN path
LIMIT $limit
