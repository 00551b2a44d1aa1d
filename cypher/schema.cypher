// graphrec's schema: one uniqueness constraint per node label, each backed by a range index that every
// MATCH/MERGE on `id` uses. Interactions are only ever reached from their user or group, so no relationship
// index is needed (an index on INTERACTED.ts cost ~1.2 s per million interactions to build and no query used it).
// Idempotent (IF NOT EXISTS): applied by `graphrec init` and automatically before every load.
// Parameters: none.
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE;
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (i:Item) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT group_id IF NOT EXISTS FOR (g:Group) REQUIRE g.id IS UNIQUE;
