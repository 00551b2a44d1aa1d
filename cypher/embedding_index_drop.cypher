// Drop the index $name when it exists (a pruned version's vector index). Parameters: $name: index name.
:param name => 'item_embedding_v1_mips'
DROP INDEX $name IF EXISTS
