// The Model versions still 'writing', with their writer as recorded by the write-back (see graphrec/writeback/writers.py):
// host (host name and boot id), pid, started (the process's start time in clock ticks since boot), exited
// (when the writer gave the version up after an error, or null) and heartbeat_age (seconds since the writer's
// last heartbeat by the server's clock, null when none was ever recorded).
// Returns one row per 'writing' Model, oldest first. Parameters: none.
MATCH (m:Model)
WHERE m.status = 'writing'
RETURN m.version AS version, m.writer_host AS host, m.writer_pid AS pid, m.writer_started AS started,
       m.writer_exited AS exited,
       CASE WHEN m.heartbeat IS NULL THEN null ELSE duration.inSeconds(m.heartbeat, datetime()).seconds END
         AS heartbeat_age
ORDER BY version
