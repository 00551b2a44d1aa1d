// A write-back's sign of life: stamp its 'writing' Model with the server's time (m.heartbeat), or, with
// $exited = true, record that its writer gave it up (m.writer_exited: the version is abandoned at once).
// Returns one row (version) while the Model is 'writing', none otherwise.
// Parameters: $version: integer; $exited: boolean.
:param version => 0;
:param exited => false;
MATCH (m:Model {version: $version})
WHERE m.status = 'writing'
SET m.heartbeat = datetime(), m.writer_exited = CASE WHEN $exited THEN datetime() ELSE m.writer_exited END
RETURN m.version AS version
