// The text of items: for each id of $ids that has an Item node, the values of its properties named in
// $properties, in that order (null where the item lacks one). Read before an item's text is embedded
// (graphrec.encoder). Returns one row per found item: id, values (list).
// Parameters: $ids: list of integer item ids; $properties: list of property names (e.g. ['title', 'tags']).
:param ids => [1001, 1002];
:param properties => ['title'];
UNWIND $ids AS id
MATCH (i:Item {id: id})
RETURN id, [name IN $properties | i[name]] AS values
