// One page of the export of graphrec.export: for each given group id (in the order given), its interactions and
// its held-out cases, as one row per group with parallel lists:
//   group: the group's id;
//   items, weights: the ids and weights (1.0 when absent) of its training interactions (INTERACTED);
//   cases: one [item id, split (1 = valid, 2 = test), line, weight] per held-out case (HELD_OUT);
//   negatives: the negatives of each case (item ids; [] when none stored), parallel to cases.
// Only interactions and cases with $since null or ts >= $since are listed (one without ts is then left out); ids
// without a Group node are skipped.
// Parameters: $ids: list of group ids; $since: Unix seconds or null.
:param ids => [5001, 5002];
:param since => null;
UNWIND $ids AS id
MATCH (g:Group {id: id})
CALL (g) {
  MATCH (g)-[r:INTERACTED]->(i:Item)
  WHERE $since IS NULL OR r.ts >= $since
  RETURN collect(i.id) AS items, collect(coalesce(r.weight, 1.0)) AS weights
}
CALL (g) {
  MATCH (g)-[c:HELD_OUT]->(i:Item)
  WHERE $since IS NULL OR c.ts >= $since
  RETURN collect([i.id, CASE c.split WHEN 'valid' THEN 1 ELSE 2 END, coalesce(c.line, 0), coalesce(c.weight, 1.0)])
           AS cases,
         collect(coalesce(c.negatives, [])) AS negatives
}
RETURN g.id AS group, items, weights, cases, negatives
