// One page of the export of graphrec.export: for each given user id (in the order given), its interactions, its
// held-out cases and its memberships, as one row per user with parallel lists:
//   user: the user's id;
//   items, weights: the ids and weights (1.0 when absent) of its training interactions (INTERACTED);
//   cases: one [item id, split (1 = valid, 2 = test), line, weight] per held-out case (HELD_OUT);
//   negatives: the negatives of each case (item ids; [] when none stored), parallel to cases.
//   groups: ids of all the user's groups (graphrec.export keeps those of the export). Filtering them here by a
//     list of group ids let the planner seek every listed group in the index for every user (users x groups).
// Only interactions and cases with $since null or ts >= $since are listed (one without ts is then left out).
// Users with fewer than $min_interactions listed interactions are left out; ids without a User node are skipped.
// Parameters: $ids: list of user ids; $since: Unix seconds or null; $min_interactions: integer.
:param ids => [1, 2, 3];
:param since => null;
:param min_interactions => 0;
UNWIND $ids AS id
MATCH (u:User {id: id})
CALL (u) {
  MATCH (u)-[r:INTERACTED]->(i:Item)
  WHERE $since IS NULL OR r.ts >= $since
  RETURN collect(i.id) AS items, collect(coalesce(r.weight, 1.0)) AS weights
}
CALL (u) {
  MATCH (u)-[c:HELD_OUT]->(i:Item)
  WHERE $since IS NULL OR c.ts >= $since
  RETURN collect([i.id, CASE c.split WHEN 'valid' THEN 1 ELSE 2 END, coalesce(c.line, 0), coalesce(c.weight, 1.0)])
           AS cases,
         collect(coalesce(c.negatives, [])) AS negatives
}
WITH u, items, weights, cases, negatives
WHERE size(items) >= $min_interactions
RETURN u.id AS user, items, weights, cases, negatives,
       COLLECT { MATCH (u)-[:MEMBER_OF]->(g:Group) RETURN g.id } AS groups
