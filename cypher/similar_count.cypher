// How many relationships of type $type (one model version's item–item weights) exist: checks a write-back
// before it is marked ready.
// Returns one row: relationships. Parameters: $type: relationship type (SIMILAR_v<N>).
:param type => 'SIMILAR_v0';
MATCH (:Item)-[r:$($type)]->(:Item)
RETURN count(r) AS relationships
