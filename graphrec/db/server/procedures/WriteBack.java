package io.graphrec.procedures;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
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
 * vectors written from packed arrays, in the caller's transaction (graphrec.writeback.pipeline sends one call per
 * transaction).
 *
 * <p>The numbers come as Bolt byte arrays, little-endian: ids as int64, vectors as float32, weights as float64.
 * A list of numbers costs the server a boxed value per number to unpack: 70,839 vectors of dimension 64 took
 * 4.4 s to send as lists and 0.3 s as bytes (idle 2-core machine, 2026-12-07).
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
            + "`targets` (bytes: little-endian int64), each with the `weight` at the same position of `weights` "
            + "(bytes: little-endian float64).")
    public Stream<Written> writeSimilar(@Name("type") String type, @Name("sources") List<Long> sources,
                                        @Name("counts") List<Long> counts, @Name("targets") byte[] targetBytes,
                                        @Name("weights") byte[] weightBytes) {
        if (type == null || type.isEmpty() || sources == null || counts == null || targetBytes == null
                || weightBytes == null) {
            throw new IllegalArgumentException("graphrec.writeSimilar: type, sources, counts, targets and weights are "
                    + "required");
        }
        LongBuffer targets = longs(targetBytes, "targets");
        DoubleBuffer weights = doubles(weightBytes, "weights");
        if (sources.size() != counts.size() || targets.remaining() != weights.remaining()) {
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
        if (total != targets.remaining()) {
            throw new IllegalArgumentException("graphrec.writeSimilar: the counts add up to " + total + ", but there are "
                    + targets.remaining() + " targets");
        }
        RelationshipType relationship = RelationshipType.withName(type);
        Label item = Label.label("Item");
        Map<Long, Node> items = new HashMap<>();
        int at = 0;
        for (int k = 0; k < sources.size(); k++) {
            Node from = find(items, item, sources.get(k));
            for (long end = at + counts.get(k); at < end; at++) {
                Node to = find(items, item, targets.get(at));
                from.createRelationshipTo(to, relationship).setProperty("weight", weights.get(at));
            }
        }
        return Stream.of(new Written(total));
    }

    @Procedure(name = "graphrec.writeVectors", mode = Mode.WRITE)
    @Description("graphrec.writeVectors(label, ids, values, width, dim, property, mipsProperty) :: (written): stores "
            + "on the `label` node with id ids[k] (bytes: little-endian int64) the float32 array of the first `dim` "
            + "of its `width` values (values, bytes of little-endian float32: k * width .. (k + 1) * width) as "
            + "`property`, and, when `mipsProperty` is not null, all `width` as `mipsProperty`.")
    public Stream<Written> writeVectors(@Name("label") String label, @Name("ids") byte[] idBytes,
                                        @Name("values") byte[] valueBytes, @Name("width") long width,
                                        @Name("dim") long dim, @Name("property") String property,
                                        @Name(value = "mipsProperty", defaultValue = "null") String mipsProperty) {
        if (label == null || idBytes == null || valueBytes == null || property == null || property.isEmpty()) {
            throw new IllegalArgumentException("graphrec.writeVectors: label, ids, values and property are required");
        }
        LongBuffer ids = longs(idBytes, "ids");
        FloatBuffer values = floats(valueBytes, "values");
        if (dim < 1 || width < dim || (long) ids.remaining() * width != values.remaining()) {
            throw new IllegalArgumentException("graphrec.writeVectors: expected 1 <= dim <= width and "
                    + ids.remaining() + " x width values, got dim " + dim + ", width " + width + " and "
                    + values.remaining() + " values");
        }
        Label nodes = Label.label(label);
        Map<Long, Node> found = new HashMap<>();
        int w = (int) width;
        for (int k = 0; k < ids.remaining(); k++) {
            Node node = find(found, nodes, ids.get(k));
            float[] all = new float[w];
            values.get(k * w, all);
            node.setProperty(property, dim == width ? all : java.util.Arrays.copyOf(all, (int) dim));
            if (mipsProperty != null) {
                node.setProperty(mipsProperty, all);
            }
        }
        return Stream.of(new Written(ids.remaining()));
    }

    private static ByteBuffer little(byte[] bytes, int width, String name) {
        if (bytes.length % width != 0) {
            throw new IllegalArgumentException("graphrec write-back: `" + name + "` has " + bytes.length
                    + " bytes, not a multiple of " + width);
        }
        return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static LongBuffer longs(byte[] bytes, String name) {
        return little(bytes, Long.BYTES, name).asLongBuffer();
    }

    private static FloatBuffer floats(byte[] bytes, String name) {
        return little(bytes, Float.BYTES, name).asFloatBuffer();
    }

    private static DoubleBuffer doubles(byte[] bytes, String name) {
        return little(bytes, Double.BYTES, name).asDoubleBuffer();
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
