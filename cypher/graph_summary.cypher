// What the graph holds: node counts per label and relationship counts per kind and split.
// Parameters: none.
CALL () { MATCH (n:User) RETURN count(n) AS users }
CALL () { MATCH (n:Item) RETURN count(n) AS items }
CALL () { MATCH (n:Group) RETURN count(n) AS groups }
CALL () { MATCH (:User)-[r:MEMBER_OF]->(:Group) RETURN count(r) AS memberships }
CALL () {
  MATCH (:User)-[r:INTERACTED]->(:Item)
  RETURN count(r) AS user_interactions, count(CASE r.split WHEN 'train' THEN 1 END) AS user_train,
         count(CASE r.split WHEN 'valid' THEN 1 END) AS user_valid, count(CASE r.split WHEN 'test' THEN 1 END) AS user_test
}
CALL () {
  MATCH (:Group)-[r:INTERACTED]->(:Item)
  RETURN count(r) AS group_interactions, count(CASE r.split WHEN 'train' THEN 1 END) AS group_train,
         count(CASE r.split WHEN 'valid' THEN 1 END) AS group_valid, count(CASE r.split WHEN 'test' THEN 1 END) AS group_test
}
RETURN users, items, groups, memberships, user_interactions, user_train, user_valid, user_test,
       group_interactions, group_train, group_valid, group_test
