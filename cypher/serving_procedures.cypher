// The procedures and functions of graphrec's plugin (graphrec/db/server/procedures/*.java) that this server has:
// recommend_user.cypher and recommend_group.cypher call graphrec.topItems, graphrec.itemWeights (procedures),
// graphrec.innerProducts and graphrec.mmr (functions); without them graphrec.recommend serves from
// recommend_user_plain.cypher and recommend_group_plain.cypher. Two statements, each returning one row: names
// (the procedures', then the functions', those whose name starts with 'graphrec.').
SHOW PROCEDURES YIELD name WHERE name STARTS WITH 'graphrec.' RETURN collect(name) AS names;
SHOW FUNCTIONS YIELD name WHERE name STARTS WITH 'graphrec.' RETURN collect(name) AS names
