// Create the Model node of a new model version, status 'writing', not active. Fails on the
// model_version constraint when the version exists (another write-back took it).
// Returns one row: version.
// Parameters: $props: map of the node's descriptive properties (version, kind, fold_in, property,
// mips_property, similarity_index, fold_property, similar, neighbours, dim, params, metrics, dataset,
// training (JSON strings), users, items, groups, max_item_norm, and the writer: writer_host, writer_pid,
// writer_started, see graphrec/writeback/writers.py), set as given (a null leaves the property out: a model without
// vectors has no property, indexes or dim; one without item–item weights no similar); $group_weight: float in
// [0, 1], the weight alpha of the group's own embedding in the combined group score
// alpha * (e_g . e_i) + (1 - alpha) * mean over members (e_m . e_i), or null (no group embeddings).
:param props => ({version: 0, property: '~embedding_v0', mips_property: '~embedding_v0_mips', similarity_index: 'item_embedding_v0_cosine', kind: 'lightgcn', fold_in: 'propagate', fold_property: null, similar: null, neighbours: 0, dim: 2, params: '{}', metrics: '{}', dataset: '{}', training: '{}', users: 1, items: 1, groups: 0, max_item_norm: 1.0});
:param group_weight => null;
CREATE (m:Model)
SET m = $props, m.group_weight = $group_weight, m.status = 'writing', m.active = false, m.created = datetime()
RETURN m.version AS version
