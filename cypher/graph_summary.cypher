// What the graph holds: node counts per label, memberships, and per side (user, group) its interactions:
// <side>_train the training interactions (INTERACTED), <side>_valid and <side>_test the held-out cases of each
// split (HELD_OUT), <side>_interactions all of them together (a pair trained on and held out counts twice).
// Parameters: none.
CALL () { MATCH (n:User) RETURN count(n) AS users }
CALL () { MATCH (n:Item) RETURN count(n) AS items }
CALL () { MATCH (n:Group) RETURN count(n) AS groups }
CALL () { MATCH (:User)-[r:MEMBER_OF]->(:Group) RETURN count(r) AS memberships }
CALL () { MATCH (:User)-[r:INTERACTED]->(:Item) RETURN count(r) AS user_train }
CALL () {
  MATCH (:User)-[r:HELD_OUT]->(:Item)
  RETURN count(CASE r.split WHEN 'valid' THEN 1 END) AS user_valid, count(CASE r.split WHEN 'test' THEN 1 END) AS user_test
}
CALL () { MATCH (:Group)-[r:INTERACTED]->(:Item) RETURN count(r) AS group_train }
CALL () {
  MATCH (:Group)-[r:HELD_OUT]->(:Item)
  RETURN count(CASE r.split WHEN 'valid' THEN 1 END) AS group_valid, count(CASE r.split WHEN 'test' THEN 1 END) AS group_test
}
RETURN users, items, groups, memberships, user_train + user_valid + user_test AS user_interactions, user_train,
       user_valid, user_test, group_train + group_valid + group_test AS group_interactions, group_train, group_valid,
       group_test
