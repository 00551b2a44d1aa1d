package io.graphrec.procedures;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.neo4j.graphdb.Label;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.RelationshipType;
import org.neo4j.graphdb.Transaction;
import org.neo4j.procedure.Context;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;

/**
 * {@code graphrec.writeSimilar} and {@code graphrec.writeVectors}: a model version's item–item weights and node
 * vectors written from packed lists, in the caller's transaction (graphrec.writeback.pipeline sends one call per
 * transaction).
 *
 * <p>The same writes as {@code cypher/similar_write.cypher} and {@code cypher/embedding_write_set.cypher}, which
 * stay the fallback where the plugin cannot be installed (Aura): there each relationship is one Cypher row (an
 * index seek for its target, a dynamic CREATE); here each is two calls of the core API, and every item is looked
 * up once per call. Nodes are found by their label and integer {@code id} (the uniqueness constraint's index);
 * an id without a node fails the call, and the transaction with it.
 */
public final class WriteBack {

    @Context
    public Transaction tx;

    /** One yielded row: how many relationships, or nodes, were written. */
    public static final class Written {
        public long written;

        Written(long written) {
            this.written = written;
        }
    }

    @Procedure(name = "graphrec.writeSimilar", mode = Mode.WRITE)
    @Description("graphrec.writeSimilar(type, sources, counts, targets, weights) :: (written): creates, for each k, "
            + "counts[k] relationships of `type` from the :Item with id sources[k] to the next counts[k] ids of "
            + "`targets`, each with the `weight` at the same position of `weights`.")
    public Stream<Written> writeSimilar(@Name("type") String type, @Name("sources") List<Long> sources,
                                        @Name("counts") List<Long> counts, @Name("targets") List<Long> targets,
                                        @Name("weights") List<Double> weights) {
        if (type == null || type.isEmpty() || sources == null || counts == null || targets == null || weights == null) {
            throw new IllegalArgumentException("graphrec.writeSimilar: type, sources, counts, targets and weights are "
                    + "required");
        }
        if (sources.size() != counts.size() || targets.size() != weights.size()) {
            throw new IllegalArgumentException("graphrec.writeSimilar: sources and counts, and targets and weights, "
                    + "must have the same length");
        }
        long total = 0;
        for (Long count : counts) {
            if (count == null || count < 0) {
                throw new IllegalArgumentException("graphrec.writeSimilar: counts must be integers >= 0");
            }
            total += count;
        }
        if (total != targets.size()) {
            throw new IllegalArgumentException("graphrec.writeSimilar: the counts add up to " + total + ", but there are "
                    + targets.size() + " targets");
        }
        RelationshipType relationship = RelationshipType.withName(type);
        Map<Long, Node> items = new HashMap<>();
        int at = 0;
        for (int k = 0; k < sources.size(); k++) {
            Node from = find(items, Label.label("Item"), sources.get(k));
            for (long end = at + counts.get(k); at < end; at++) {
                Node to = find(items, Label.label("Item"), targets.get(at));
                Double weight = weights.get(at);
                if (weight == null) {
                    throw new IllegalArgumentException("graphrec.writeSimilar: a weight is null");
                }
                from.createRelationshipTo(to, relationship).setProperty("weight", weight);
            }
        }
        return Stream.of(new Written(total));
    }

    @Procedure(name = "graphrec.writeVectors", mode = Mode.WRITE)
    @Description("graphrec.writeVectors(label, ids, values, width, dim, property, mipsProperty) :: (written): stores "
            + "on the `label` node with id ids[k] the float32 array of the first `dim` of its `width` values "
            + "(values[k * width .. (k + 1) * width]) as `property`, and, when `mipsProperty` is not null, all "
            + "`width` as `mipsProperty`.")
    public Stream<Written> writeVectors(@Name("label") String label, @Name("ids") List<Long> ids,
                                        @Name("values") List<Double> values, @Name("width") long width,
                                        @Name("dim") long dim, @Name("property") String property,
                                        @Name(value = "mipsProperty", defaultValue = "null") String mipsProperty) {
        if (label == null || ids == null || values == null || property == null || property.isEmpty()) {
            throw new IllegalArgumentException("graphrec.writeVectors: label, ids, values and property are required");
        }
        if (dim < 1 || width < dim || (long) ids.size() * width != values.size()) {
            throw new IllegalArgumentException("graphrec.writeVectors: expected 1 <= dim <= width and " + ids.size()
                    + " x width values, got dim " + dim + ", width " + width + " and " + values.size() + " values");
        }
        Label nodes = Label.label(label);
        Map<Long, Node> found = new HashMap<>();
        int w = (int) width;
        for (int k = 0; k < ids.size(); k++) {
            Node node = find(found, nodes, ids.get(k));
            float[] all = new float[w];
            for (int j = 0; j < w; j++) {
                all[j] = values.get(k * w + j).floatValue();
            }
            node.setProperty(property, dim == width ? all : java.util.Arrays.copyOf(all, (int) dim));
            if (mipsProperty != null) {
                node.setProperty(mipsProperty, all);
            }
        }
        return Stream.of(new Written(ids.size()));
    }

    /** The node of `label` with integer id `id`, looked up once per call. */
    private Node find(Map<Long, Node> found, Label label, Long id) {
        if (id == null) {
            throw new IllegalArgumentException("graphrec write-back: a node id is null");
        }
        Node node = found.get(id);
        if (node == null) {
            node = tx.findNode(label, "id", id);
            if (node == null) {
                throw new IllegalArgumentException("graphrec write-back: no :" + label.name() + " node has id " + id);
            }
            found.put(id, node);
        }
        return node;
    }
}
