// graphrec's schema: one uniqueness constraint per node label (each is backed by a range index, which every
// MATCH/MERGE on `id` uses) and an index on interaction timestamps for exports of recent activity.
// Idempotent (IF NOT EXISTS): applied by `graphrec init` and automatically before every load.
// Parameters: none.
CREATE CONSTRAINT user_id IF NOT EXISTS FOR (u:User) REQUIRE u.id IS UNIQUE;
CREATE CONSTRAINT item_id IF NOT EXISTS FOR (i:Item) REQUIRE i.id IS UNIQUE;
CREATE CONSTRAINT group_id IF NOT EXISTS FOR (g:Group) REQUIRE g.id IS UNIQUE;
CREATE INDEX interacted_ts IF NOT EXISTS FOR ()-[r:INTERACTED]-() ON (r.ts);
