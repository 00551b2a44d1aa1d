package io.graphrec.procedures;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Label;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.NotFoundException;
import org.neo4j.graphdb.ResourceIterator;
import org.neo4j.graphdb.Transaction;
import org.neo4j.procedure.Context;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;

/**
 * {@code graphrec.topItems}: the exact top items of a group over every item of a model version, scored natively.
 *
 * <p>Member m scores item i by the inner product {@code s_m(i) = q_m . v_i} of its query vector and the item's
 * vector (the node property {@code property} of the {@code :Item} nodes). The strategies aggregate the members'
 * scores over the whole catalogue, the items in {@code exclude} left out:
 * <ul>
 *   <li>{@code average}: the mean of {@code s_m(i)};</li>
 *   <li>{@code least_misery}: the lowest {@code s_m(i)};</li>
 *   <li>{@code most_pleasure}: the highest {@code s_m(i)};</li>
 *   <li>{@code borda}: the sum over members of rank points: among the n items, an item gets as many points from
 *       a member as there are items that member scores strictly lower (the best of n gets n - 1).</li>
 * </ul>
 * It yields the {@code n} best items (ties by the item's {@code id}, ascending) with their aggregate score.
 * {@code cypher/recommend_group.cypher} takes its candidates from here on catalogues too large for a scan in
 * Cypher, then re-ranks them with the model's whole formula (item–item weights included).
 *
 * <p>The item vectors of a model version are read once and kept in memory (float32, items x dim; Gowalla's
 * 40,981 x 64 take 10 MB), for the last {@link #CACHED} versions asked for. A version is named by its property
 * and {@code stamp} (the Model node's creation time): graphrec writes a version's item vectors once, before
 * the version is activated, and never changes them afterwards; a version written anew under the same number
 * has another stamp.
 */
public final class TopItems {

    /** Model versions whose item vectors stay in memory. */
    static final int CACHED = 4;

    private static final Label ITEM = Label.label("Item");

    private static final Map<String, Catalogue> CACHE = Collections.synchronizedMap(
            new LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Catalogue> eldest) {
                    return size() > CACHED;
                }
            });

    @Context
    public Transaction tx;

    @Context
    public GraphDatabaseService db;

    /** One yielded row: an item and its aggregate score. */
    public static final class Row {
        public Node node;
        public double score;

        Row(Node node, double score) {
            this.node = node;
            this.score = score;
        }
    }

    /** Every item holding a version's vectors: element ids, ids (for ties) and the vectors, row-major. */
    record Catalogue(String[] elementIds, long[] ids, float[] vectors, int dim) {
        int size() {
            return ids.length;
        }
    }

    @Procedure(name = "graphrec.topItems", mode = Mode.READ)
    @Description("graphrec.topItems(property, stamp, queries, strategy, n, exclude) :: (node, score): the n items "
            + "with the best aggregate (average, least_misery, most_pleasure or borda) of the inner products of "
            + "the query vectors with the items' vectors in `property`, over every item but those in `exclude`.")
    public Stream<Row> topItems(@Name("property") String property, @Name("stamp") String stamp,
                                @Name("queries") List<List<Double>> queries, @Name("strategy") String strategy,
                                @Name("n") long n, @Name(value = "exclude", defaultValue = "[]") List<Node> exclude) {
        if (property == null || stamp == null || queries == null || strategy == null) {
            throw new IllegalArgumentException("graphrec.topItems: property, stamp, queries and strategy are required");
        }
        if (queries.isEmpty() || n <= 0) {
            return Stream.empty();
        }
        Catalogue catalogue = catalogue(property, stamp);
        if (catalogue.size() == 0) {
            return Stream.empty();
        }
        double[][] q = queryVectors(queries, catalogue.dim(), property);
        boolean[] left = new boolean[catalogue.size()];
        Set<String> excluded = new HashSet<>();
        for (Node node : exclude == null ? List.<Node>of() : exclude) {
            if (node != null) {
                excluded.add(node.getElementId());
            }
        }
        int kept = 0;
        for (int i = 0; i < left.length; i++) {
            left[i] = excluded.contains(catalogue.elementIds()[i]);
            kept += left[i] ? 0 : 1;
        }
        double[] score = aggregate(catalogue, q, strategy, left, kept);
        List<Row> rows = new ArrayList<>();
        for (int i : best(score, catalogue.ids(), left, (int) Math.min(n, Integer.MAX_VALUE))) {
            try {
                rows.add(new Row(tx.getNodeByElementId(catalogue.elementIds()[i]), score[i]));
            } catch (NotFoundException deleted) {
                // an item deleted since its version was read: not recommended
            }
        }
        return rows.stream();
    }

    /** The members' scores of every item, aggregated by `strategy`; excluded items (`out`) are not ranked. */
    static double[] aggregate(Catalogue catalogue, double[][] q, String strategy, boolean[] out, int kept) {
        int items = catalogue.size(), dim = catalogue.dim();
        float[] v = catalogue.vectors();
        double[][] member = new double[q.length][items];
        for (int m = 0; m < q.length; m++) {
            double[] qm = q[m];
            double[] sm = member[m];
            for (int i = 0, base = 0; i < items; i++, base += dim) {
                double s = 0.0;
                for (int d = 0; d < dim; d++) {
                    s += qm[d] * v[base + d];
                }
                sm[i] = s;
            }
        }
        double[] score = new double[items];
        switch (strategy) {
            case "average" -> {
                for (double[] sm : member) {
                    for (int i = 0; i < items; i++) {
                        score[i] += sm[i] / q.length;
                    }
                }
            }
            case "least_misery", "most_pleasure" -> {
                boolean least = strategy.equals("least_misery");
                Arrays.fill(score, least ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY);
                for (double[] sm : member) {
                    for (int i = 0; i < items; i++) {
                        score[i] = least ? Math.min(score[i], sm[i]) : Math.max(score[i], sm[i]);
                    }
                }
            }
            case "borda" -> {
                for (double[] sm : member) {
                    double[] sorted = new double[kept];
                    for (int i = 0, j = 0; i < items; i++) {
                        if (!out[i]) {
                            sorted[j++] = sm[i];
                        }
                    }
                    Arrays.sort(sorted);
                    for (int i = 0; i < items; i++) {
                        if (!out[i]) {
                            score[i] += lowerBound(sorted, sm[i]);
                        }
                    }
                }
            }
            default -> throw new IllegalArgumentException("graphrec.topItems: unknown strategy '" + strategy
                    + "' (average, least_misery, most_pleasure or borda)");
        }
        return score;
    }

    /** How many entries of the ascending `sorted` are strictly below `x`. */
    static int lowerBound(double[] sorted, double x) {
        int low = 0, high = sorted.length;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (sorted[mid] < x) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low;
    }

    /** The indices of the `n` highest scores among the items not `out`, best first, ties by id ascending. */
    static List<Integer> best(double[] score, long[] ids, boolean[] out, int n) {
        double[] values = new double[score.length];
        int count = 0;
        for (int i = 0; i < score.length; i++) {
            if (!out[i]) {
                values[count++] = score[i];
            }
        }
        if (count == 0) {
            return List.of();
        }
        double[] kept = Arrays.copyOf(values, count);
        Arrays.sort(kept);
        double threshold = kept[Math.max(0, count - n)];
        List<Integer> chosen = new ArrayList<>();
        for (int i = 0; i < score.length; i++) {
            if (!out[i] && score[i] >= threshold) {
                chosen.add(i);
            }
        }
        chosen.sort((a, b) -> score[a] != score[b] ? Double.compare(score[b], score[a]) : Long.compare(ids[a], ids[b]));
        return chosen.size() > n ? chosen.subList(0, n) : chosen;
    }

    static double[][] queryVectors(List<List<Double>> queries, int dim, String property) {
        double[][] q = new double[queries.size()][];
        for (int m = 0; m < q.length; m++) {
            List<Double> query = queries.get(m);
            if (query == null || query.size() != dim) {
                throw new IllegalArgumentException("graphrec.topItems: query " + m + " has "
                        + (query == null ? "no" : query.size()) + " dimensions; the items' " + property + " has " + dim);
            }
            q[m] = new double[dim];
            for (int d = 0; d < dim; d++) {
                Double x = query.get(d);
                q[m][d] = x == null ? 0.0 : x;
            }
        }
        return q;
    }

    private Catalogue catalogue(String property, String stamp) {
        String key = db.databaseName() + '\u0000' + property + '\u0000' + stamp;
        synchronized (CACHE) {
            Catalogue cached = CACHE.get(key);
            if (cached == null) {
                cached = read(property);
                CACHE.put(key, cached);
            }
            return cached;
        }
    }

    /** Every `:Item` holding `property` (float or double arrays, all of one length); the others are left out. */
    private Catalogue read(String property) {
        List<String> elementIds = new ArrayList<>();
        List<Long> ids = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        int dim = -1;
        try (ResourceIterator<Node> items = tx.findNodes(ITEM)) {
            while (items.hasNext()) {
                Node item = items.next();
                Object value = item.getProperty(property, null);
                float[] row = asFloats(value);
                if (row == null) {
                    continue;
                }
                if (dim < 0) {
                    dim = row.length;
                } else if (row.length != dim) {
                    throw new IllegalStateException("graphrec.topItems: item " + item.getProperty("id", null)
                            + " has " + row.length + " dimensions in " + property + ", others " + dim);
                }
                Object id = item.getProperty("id", null);
                elementIds.add(item.getElementId());
                ids.add(id instanceof Number number ? number.longValue() : Long.MAX_VALUE);
                rows.add(row);
            }
        }
        float[] vectors = new float[rows.size() * Math.max(dim, 0)];
        for (int i = 0; i < rows.size(); i++) {
            System.arraycopy(rows.get(i), 0, vectors, i * dim, dim);
        }
        return new Catalogue(elementIds.toArray(String[]::new), ids.stream().mapToLong(Long::longValue).toArray(),
                vectors, Math.max(dim, 0));
    }

    private static float[] asFloats(Object value) {
        if (value instanceof float[] floats) {
            return floats;
        }
        if (value instanceof double[] doubles) {
            float[] floats = new float[doubles.length];
            for (int d = 0; d < doubles.length; d++) {
                floats[d] = (float) doubles[d];
            }
            return floats;
        }
        return null;
    }
}
