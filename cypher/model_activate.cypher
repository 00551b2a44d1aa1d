// Make one 'ready' Model the active one and every other Model inactive, in this one statement (so in one
// transaction: readers see the old or the new active model, never a mix). Every Model node is written, in
// version order, so that concurrent activations serialise on their locks instead of both winning.
// Returns one row (version, previous: the version active before, or null) when $version is 'ready';
// no row and no change otherwise.
// Parameters: $version: integer.
:param version => 1;
MATCH (target:Model {version: $version})
WHERE target.status = 'ready'
CALL (target) {
  MATCH (m:Model)
  WITH m ORDER BY m.version
  WITH m, m.active AND m <> target AS was_active
  SET m.active = (m = target)
  RETURN max(CASE WHEN was_active THEN m.version END) AS previous
}
SET target.activated_at = datetime()
RETURN target.version AS version, previous
