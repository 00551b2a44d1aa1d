// Wait until the index $name is online (populated), at most $seconds; fails when it is not by then or
// when its population failed. Parameters: $name: index name; $seconds: integer.
:param name => 'item_embedding_v1_cosine';
:param seconds => 300;
CALL db.awaitIndex($name, $seconds)
