// Every node id of the graph, as one row per label: kind 0 = User, 1 = Item, 2 = Group, ids a list.
// Used by graphrec.export for a full export (no seed users or groups), so that the catalogue is complete:
// items and users without any interaction are listed too. One list per label is ~30x faster to read than
// one row per node.
// Parameters: none.
MATCH (n:User) RETURN 0 AS kind, collect(n.id) AS ids
UNION ALL
MATCH (n:Item) RETURN 1 AS kind, collect(n.id) AS ids
UNION ALL
MATCH (n:Group) RETURN 2 AS kind, collect(n.id) AS ids
