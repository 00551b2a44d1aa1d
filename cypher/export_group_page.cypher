// One page of the export of graphrec.export: for each given group id (in the order given), its interactions,
// as one row per group with parallel lists (one entry per interaction, in the same order):
//   group: the group's id; items: item ids; weights: weight (1.0 when absent);
//   splits: 0 = train (also when split is absent), 1 = valid, 2 = test;
//   negatives: one list [item id, negative item id, ...] per interaction that stores negatives.
// Only interactions with $since null or ts >= $since are listed (one without ts is then left out); ids without
// a Group node are skipped.
// Parameters: $ids: list of group ids; $since: Unix seconds or null.
:param ids => [5001, 5002];
:param since => null;
UNWIND $ids AS id
MATCH (g:Group {id: id})
CALL (g) {
  MATCH (g)-[r:INTERACTED]->(i:Item)
  WHERE $since IS NULL OR r.ts >= $since
  RETURN collect(i.id) AS items, collect(coalesce(r.weight, 1.0)) AS weights,
         collect(CASE r.split WHEN 'valid' THEN 1 WHEN 'test' THEN 2 ELSE 0 END) AS splits,
         collect(CASE WHEN r.negatives IS NOT NULL THEN [i.id] + r.negatives END) AS negatives
}
RETURN g.id AS group, items, weights, splits, negatives
