// Move a Model from one status to another ('writing' -> 'ready' once all vectors and the index are in,
// any non-active -> 'deleting' before prune removes it), and stamps m.updated.
// Returns one row (version) when the Model had status $from, none otherwise (nothing changed).
// Parameters: $version: integer; $from: list of statuses; $to: status.
:param version => 0;
:param from => ['writing'];
:param to => 'ready';
MATCH (m:Model {version: $version})
WHERE m.status IN $from AND NOT (m.active AND $to = 'deleting')
SET m.status = $to, m.updated = datetime()
RETURN m.version AS version
