// One page of the export of graphrec.export: for each given user id (in the order given), its interactions and
// its memberships, as one row per user with parallel lists (one entry per interaction, in the same order):
//   user: the user's id; items: item ids; weights: weight (1.0 when absent);
//   splits: 0 = train (also when split is absent), 1 = valid, 2 = test;
//   negatives: one list [item id, negative item id, ...] per interaction that stores negatives;
//   groups: ids of the user's groups that are among $groups.
// Only interactions with $since null or ts >= $since are listed (one without ts is then left out). Users with
// fewer than $min_interactions listed train interactions are left out; ids without a User node are skipped.
// Parameters: $ids: list of user ids; $since: Unix seconds or null; $min_interactions: integer;
//   $groups: list of group ids (the groups of the export).
:param ids => [1, 2, 3];
:param since => null;
:param min_interactions => 0;
:param groups => [5001, 5002];
UNWIND $ids AS id
MATCH (u:User {id: id})
CALL (u) {
  MATCH (u)-[r:INTERACTED]->(i:Item)
  WHERE $since IS NULL OR r.ts >= $since
  RETURN collect(i.id) AS items, collect(coalesce(r.weight, 1.0)) AS weights,
         collect(CASE r.split WHEN 'valid' THEN 1 WHEN 'test' THEN 2 ELSE 0 END) AS splits,
         collect(CASE WHEN r.negatives IS NOT NULL THEN [i.id] + r.negatives END) AS negatives
}
WITH u, items, weights, splits, negatives
WHERE size([s IN splits WHERE s = 0]) >= $min_interactions
RETURN u.id AS user, items, weights, splits, negatives,
       COLLECT { MATCH (u)-[:MEMBER_OF]->(g:Group) WHERE g.id IN $groups RETURN g.id } AS groups
