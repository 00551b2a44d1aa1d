"""The database wing: the one port to Neo4j and what stands behind it.

- `connection`: where and as whom (`Connection`); `resolve`: the settings from arguments, the environment or
  the local server;
- `runner`: `QueryRunner`, the one port every query goes through (reads, writes, streams);
- `cypher`: the statements, read from the `cypher/` files;
- `nodes`: lookups about graphrec's nodes that several stages share (`missing_ids`);
- `server`: the local Neo4j server: `install` (jars, APOC, graphrec's procedures), `lifecycle` (start, stop,
  status, offline import, dump and load), `browser` (graphrec's Neo4j Browser bundle).
"""
