package io.graphrec.procedures;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.ObjDoubleConsumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.neo4j.graphdb.Direction;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.Relationship;
import org.neo4j.graphdb.RelationshipType;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;

/**
 * {@code graphrec.itemWeights}: the item–item part of the scores of several sources at once, summed natively.
 *
 * <p>A model version's item–item weights are relationships {@code (j)-[:SIMILAR_vN {weight}]->(i)}. Source x
 * (a user, or each member of a group and the group itself) with items {@code sources[x]} gives item i the sum
 * {@code w_x(i) = sum over j in sources[x] of weight(j -> i)}. Every item reached from some source, those in
 * {@code exclude} left out, is yielded once with its list {@code weights} ({@code weights[x] = w_x(i)}, 0.0 where
 * source x reaches it by no relationship), in the order the items were first reached.
 *
 * <p>With {@code n >= 0} only the items that can be among the {@code n} best by a ranking of their weights are
 * yielded: those whose key is at least the n-th highest key, less a relative 1e-9 of slack, so that the caller's
 * own arithmetic and its ties by id choose the same top n; of many items tied at the cut (one key), those of the
 * lowest {@code id} (see {@link #best}). The key, with
 * coefficients {@code c} (default: 1.0 for every source):
 * <ul>
 *   <li>{@code sum}: {@code sum over x of c_x w_x(i)} (a user: its weights; a group's average, its own score, or
 *       their mix);</li>
 *   <li>{@code min} / {@code max}: the lowest / highest {@code w_x(i)} over the sources with {@code c_x > 0}
 *       (least misery, most pleasure);</li>
 *   <li>{@code borda}: {@code sum over x with c_x > 0 of c_x p_x(i)}, the points {@code p_x(i)} the other
 *       reached items that source x scores at most as high as i (its tie's last position: Borda as
 *       {@code cypher/recommend_group.cypher} counts it among its candidates, every reached item one).</li>
 * </ul>
 * That is exact for a caller whose score is that key (a model with item–item weights only, every item it may
 * rank reached from some source): an item left out has a lower score than n others yielded. A Borda key counts
 * the whole reached pool, so a caller takes it from the column {@code score} (every row's key) instead of
 * counting points among the rows yielded. {@code n < 0} (the default) yields every reached item.
 *
 * <p>{@code cypher/recommend_group.cypher} (every member, then the group) and {@code cypher/recommend_user.cypher}
 * (the user) call it instead of expanding the relationships in Cypher (one row per relationship, then one sum per
 * item and source), and with {@code n} for a model without vectors, so that Cypher scores k rows instead of every
 * reached item (BENCHMARKS.md, "Serving").
 */
public final class ItemWeights {

    /** Relative slack of the cut, so that the caller's arithmetic keeps its ties at the n-th key. */
    static final double SLACK = 1e-9;

    /** One yielded row: an item, its weight sum from each source and its key by `rank`. */
    public static final class Row {
        public Node node;
        public List<Double> weights;
        public double score;

        Row(Node node, List<Double> weights, double score) {
            this.node = node;
            this.weights = weights;
            this.score = score;
        }
    }

    @Procedure(name = "graphrec.itemWeights", mode = Mode.READ)
    @Description("graphrec.itemWeights(type, sources, exclude, n = -1, rank = 'sum', coefficients = []) :: (node, "
            + "weights, score): every item reached by a relationship of `type` from the items of some source in "
            + "`sources` (a list of item lists), those in `exclude` left out, with the sum of the relationships' "
            + "`weight` from each source and its `rank` key as score ('sum' of coefficients x weights, 'min' or "
            + "'max' over the sources with a positive coefficient, 'borda': coefficients x rank points among the "
            + "reached items); with n >= 0 only the items that can be among the n best by it.")
    public Stream<Row> itemWeights(@Name("type") String type, @Name("sources") List<List<Node>> sources,
                                   @Name(value = "exclude", defaultValue = "[]") List<Node> exclude,
                                   @Name(value = "n", defaultValue = "-1") long n,
                                   @Name(value = "rank", defaultValue = "sum") String rank,
                                   @Name(value = "coefficients", defaultValue = "[]") List<Double> coefficients) {
        if (type == null || sources == null) {
            throw new IllegalArgumentException("graphrec.itemWeights: type and sources are required");
        }
        int count = sources.size();
        double[] c = coefficients(coefficients, count);
        if (!List.of("sum", "min", "max", "borda").contains(rank)) {
            throw new IllegalArgumentException("graphrec.itemWeights: rank must be 'sum', 'min', 'max' or 'borda', "
                    + "not " + rank);
        }
        RelationshipType relationship = RelationshipType.withName(type);
        Set<Node> out = new HashSet<>();  // a Node's equality is its id
        for (Node node : exclude == null ? List.<Node>of() : exclude) {
            if (node != null) {
                out.add(node);
            }
        }
        Map<Node, double[]> reached = new LinkedHashMap<>();  // in the order first reached
        for (int x = 0; x < count; x++) {
            List<Node> items = sources.get(x);
            if (items == null) {
                continue;
            }
            int source = x;
            forEachWeight(items, relationship, (to, weight) -> {
                if (!out.contains(to)) {
                    reached.computeIfAbsent(to, k -> new double[count])[source] += weight;
                }
            });
        }
        List<Map.Entry<Node, double[]>> rows = new ArrayList<>(reached.entrySet());
        double[] keys = keys(rows, rank, c);
        List<Integer> kept = n >= 0 && n < rows.size() ? best(rows, keys, (int) n) : null;
        return (kept == null ? IntStream.range(0, rows.size()).boxed() : kept.stream())
                .map(r -> new Row(rows.get(r).getKey(), Arrays.stream(rows.get(r).getValue()).boxed().toList(),
                        keys[r]));
    }

    /** Calls {@code sink} with the end node and the {@code weight} (0.0 where it is not a number) of every
     *  relationship of {@code type} out of {@code items} (null entries skipped), item by item in their order:
     *  the one order in which graphrec.itemWeights and graphrec.topItems add weights up, so that their sums agree
     *  to the last bit. */
    static void forEachWeight(List<Node> items, RelationshipType type, ObjDoubleConsumer<Node> sink) {
        for (Node from : items) {
            if (from == null) {
                continue;
            }
            for (Relationship edge : from.getRelationships(Direction.OUTGOING, type)) {
                sink.accept(edge.getEndNode(),
                        edge.getProperty("weight", null) instanceof Number weight ? weight.doubleValue() : 0.0);
            }
        }
    }

    /** Every row's key by `rank` (class comment); for 'borda' the points among all the rows. */
    static double[] keys(List<Map.Entry<Node, double[]>> rows, String rank, double[] c) {
        double[] keys = new double[rows.size()];
        if (!rank.equals("borda")) {
            for (int r = 0; r < keys.length; r++) {
                keys[r] = key(rows.get(r).getValue(), rank, c);
            }
            return keys;
        }
        double[] scores = new double[keys.length];
        for (int x = 0; x < c.length; x++) {
            if (c[x] <= 0) {
                continue;
            }
            for (int r = 0; r < keys.length; r++) {
                scores[r] = rows.get(r).getValue()[x];
            }
            double[] sorted = scores.clone();
            Arrays.sort(sorted);
            for (int r = 0; r < keys.length; r++) {
                keys[r] += c[x] * (atMost(sorted, 0, sorted.length, scores[r]) - 1);
            }
        }
        return keys;
    }

    /** How many of {@code sorted[from, to)} (ascending) are at most {@code value}. */
    static int atMost(double[] sorted, int from, int to, double value) {
        int low = from, high = to;
        while (low < high) {
            int mid = (low + high) >>> 1;
            if (sorted[mid] <= value) {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        return low - from;
    }

    /**
     * The positions of the rows that can be among the n best by key, ties by the item's {@code id} ascending, in
     * their order: every row whose key is above the n-th highest key by more than the slack, and those within the
     * slack of it. When the latter all have one key (the items a least misery leaves at 0.0, say), only as many
     * of them as the n best need are kept, those of the lowest ids; otherwise all of them.
     */
    static List<Integer> best(List<Map.Entry<Node, double[]>> rows, double[] keys, int n) {
        if (n == 0) {
            return List.of();
        }
        double[] sorted = keys.clone();
        Arrays.sort(sorted);
        double cut = sorted[sorted.length - n];
        double slack = SLACK * Math.max(1.0, Math.abs(cut));
        int above = 0;
        List<Integer> band = new ArrayList<>();
        double low = Double.POSITIVE_INFINITY, high = Double.NEGATIVE_INFINITY;
        for (int r = 0; r < keys.length; r++) {
            if (keys[r] > cut + slack) {
                above++;
            } else if (keys[r] >= cut - slack) {
                band.add(r);
                low = Math.min(low, keys[r]);
                high = Math.max(high, keys[r]);
            }
        }
        Set<Integer> dropped = new HashSet<>();
        if (low == high && above + band.size() > n) {
            long[] ids = new long[keys.length];
            for (int r : band) {
                Object id = rows.get(r).getKey().getProperty("id", null);
                if (!(id instanceof Long || id instanceof Integer)) {
                    ids = null;  // not the integer ids graphrec loads: keep the whole band
                    break;
                }
                ids[r] = ((Number) id).longValue();
            }
            if (ids != null) {
                long[] order = ids;
                band.sort((a, b) -> Long.compare(order[a], order[b]));
                dropped.addAll(band.subList(n - above, band.size()));
            }
        }
        List<Integer> kept = new ArrayList<>();
        for (int r = 0; r < keys.length; r++) {
            if (keys[r] >= cut - slack && !dropped.contains(r)) {
                kept.add(r);
            }
        }
        return kept;
    }

    /** An item's key: the `rank` of its weights `w` under the coefficients `c`. */
    static double key(double[] w, String rank, double[] c) {
        if (rank.equals("sum")) {
            double s = 0.0;
            for (int x = 0; x < w.length; x++) {
                s += c[x] * w[x];
            }
            return s;
        }
        boolean least = rank.equals("min");
        double k = least ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
        for (int x = 0; x < w.length; x++) {
            if (c[x] > 0) {
                k = least ? Math.min(k, w[x]) : Math.max(k, w[x]);
            }
        }
        return k;
    }

    static double[] coefficients(List<Double> given, int count) {
        double[] c = new double[count];
        if (given == null || given.isEmpty()) {
            Arrays.fill(c, 1.0);
            return c;
        }
        if (given.size() != count) {
            throw new IllegalArgumentException("graphrec.itemWeights: " + given.size() + " coefficients for "
                    + count + " sources");
        }
        for (int x = 0; x < count; x++) {
            Double value = given.get(x);
            c[x] = value == null ? 0.0 : value;
        }
        return c;
    }
}
