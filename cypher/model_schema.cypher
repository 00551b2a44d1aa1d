// The Model nodes' schema: one node per embedding version, its number unique (a concurrent write-back that
// picked the same number fails instead of sharing it). Idempotent; applied by every write-back.
// Parameters: none.
CREATE CONSTRAINT model_version IF NOT EXISTS FOR (m:Model) REQUIRE m.version IS UNIQUE
