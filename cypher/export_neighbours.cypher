// One hop of the breadth-first selection of graphrec.export: the distinct neighbours of the given frontier
// over INTERACTED, HELD_OUT and MEMBER_OF, in either direction, as three lists of ids (one row).
// An INTERACTED or HELD_OUT relationship is followed only when $since is null or its ts >= $since (one without ts is
// then not followed); MEMBER_OF is always followed. The frontier's own nodes may appear in the answer.
// Parameters: $users, $groups, $items: lists of integer ids (the frontier, possibly empty);
//   $since: Unix seconds or null.
:param users => [1];
:param groups => [];
:param items => [];
:param since => null;
CALL () {
  UNWIND $users AS id
  MATCH (:User {id: id})-[r:INTERACTED|HELD_OUT|MEMBER_OF]-(n)
  RETURN r, n
  UNION ALL
  UNWIND $groups AS id
  MATCH (:Group {id: id})-[r:INTERACTED|HELD_OUT|MEMBER_OF]-(n)
  RETURN r, n
  UNION ALL
  UNWIND $items AS id
  MATCH (:Item {id: id})<-[r:INTERACTED|HELD_OUT]-(n)
  RETURN r, n
}
WITH n, r WHERE type(r) = 'MEMBER_OF' OR $since IS NULL OR r.ts >= $since
WITH DISTINCT n
RETURN collect(CASE WHEN n:User THEN n.id END) AS users,
       collect(CASE WHEN n:Group THEN n.id END) AS groups,
       collect(CASE WHEN n:Item THEN n.id END) AS items
