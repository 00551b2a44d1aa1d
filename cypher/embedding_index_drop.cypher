// Drop the index $name when it exists (a pruned version's vector index). Parameters: $name: index name.
:param name => 'graphrec_example_index';
DROP INDEX $name IF EXISTS
