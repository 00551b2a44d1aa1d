package io.graphrec.procedures;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.graphdb.Label;
import org.neo4j.graphdb.Node;
import org.neo4j.graphdb.NotFoundException;
import org.neo4j.graphdb.RelationshipType;
import org.neo4j.graphdb.ResourceIterator;
import org.neo4j.graphdb.Transaction;
import org.neo4j.procedure.Context;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Mode;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.Procedure;
import org.neo4j.procedure.UserFunction;

/**
 * {@code graphrec.topItems}: the exact top items of a user or a group over every item of a model version,
 * scored natively.
 *
 * <p>Query vector m (a user's, or each member's of a group) scores item i by the inner product
 * {@code s_m(i) = q_m . v_i} with the item's vector (the node property {@code property} of the {@code :Item}
 * nodes). The strategies aggregate the scores over the whole catalogue, the items in {@code exclude} left out:
 * <ul>
 *   <li>{@code average}: the mean of {@code s_m(i)} (one query vector: its own score);</li>
 *   <li>{@code least_misery}: the lowest {@code s_m(i)};</li>
 *   <li>{@code most_pleasure}: the highest {@code s_m(i)};</li>
 *   <li>{@code borda}: the sum over the query vectors of rank points: an item gets as many points from m as
 *       there are other items left that m scores at most as high (the best of N items left gets N - 1; equal
 *       scores share the best rank, as {@code graphrec.evaluation.scorers} counts them).</li>
 * </ul>
 * With {@code sources} (one item list per query vector) and a relationship type {@code similar}, query m's score
 * is the whole formula of a model with item–item weights and vectors,
 * {@code s_m(i) = w_m(i) + q_m . v_i}, {@code w_m(i)} the sum of the {@code weight}s of the relationships of that
 * type from m's items to i (the sum graphrec.itemWeights yields, added up in its order). Borda needs it: its points
 * depend on every item's score, so candidates scored by q . v alone would count them among the wrong items.
 * It yields the {@code n} best items (ties by the item's {@code id}, ascending) with their aggregate score and
 * each query's own score {@code s_m(i)} ({@code scores}).
 * {@code cypher/recommend_user.cypher} and {@code cypher/recommend_group.cypher} take their candidates from
 * here on catalogues too large for a scan in Cypher, then re-rank them with the model's whole formula
 * (item–item weights included; a user's q . v of these candidates is the score yielded here).
 *
 * <p>The item vectors of a model version are read once and kept in memory (float32, as stored, items x dim;
 * Gowalla's 40,981 x 64 take 10 MB, x 1,024 168 MB), ordered by decreasing norm, for the last {@link #CACHED}
 * versions asked for; the scores are float64 sums, four items at a time in SIMD lanes ({@link #dot4}). A scan
 * of more than {@link #PARALLEL_PRODUCTS} products runs its blocks in parallel. The average, least misery and
 * most pleasure of plain vectors stop reading where the norms show that no later item can enter the n best
 * ({@link #scanByNorm}); Borda and the sums with item–item weights read every item ({@link #scanAll}).
 *
 * <p>The function {@code graphrec.innerProducts} gives the same q . v for a list of nodes (the candidates that
 * the two queries score, whichever way they were found) from the same vectors in memory.
 * A version is named by its property and {@code stamp} (the Model node's creation time): graphrec writes a
 * version's item vectors once, before the version is activated, and never changes them afterwards; a version
 * written anew under the same number has another stamp.
 */
public final class TopItems {

    /** Model versions whose item vectors stay in memory. */
    static final int CACHED = 4;

    /** Items per block of the scan: 1 MB of 1,024-wide rows, which stay in a core's cache from one query vector
     *  of a group to the next. */
    static final int BLOCK = 256;

    /** Inner products (items x dim x query vectors) from which the scan's blocks run in parallel, on the
     *  common fork-join pool: a 1,024-wide Gowalla scan (42M) is split, a 64-wide one (2.6M) is not. */
    static final long PARALLEL_PRODUCTS = 1L << 23;

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

    /** One yielded row: an item, its aggregate score and each query's score of it. */
    public static final class Row {
        public Node node;
        public double score;
        public List<Double> scores;

        Row(Node node, double score, List<Double> scores) {
            this.node = node;
            this.score = score;
            this.scores = scores;
        }
    }

    /** Every item holding a version's vectors: element ids, their rows, ids (for ties), the vectors, row-major,
     *  and their float64 norms; the rows ordered by decreasing norm ({@link #scanByNorm}; a norm that is not a
     *  number counts as infinite, first). */
    record Catalogue(String[] elementIds, Map<String, Integer> rows, long[] ids, float[] vectors, int dim,
                     double[] norms) {
        int size() {
            return ids.length;
        }
    }

    @Procedure(name = "graphrec.topItems", mode = Mode.READ)
    @Description("graphrec.topItems(property, stamp, queries, strategy, n, exclude, similar, sources) :: (node, "
            + "score, scores): the n items with the best aggregate (average, least_misery, most_pleasure or borda) of the "
            + "inner products of the query vectors with the items' vectors in `property`, over every item but those "
            + "in `exclude`; with `sources` (one item list per query vector), each query's scores plus the `weight` "
            + "sums of the relationships of type `similar` out of its items; `scores`: each query's score.")
    public Stream<Row> topItems(@Name("property") String property, @Name("stamp") String stamp,
                                @Name("queries") List<List<Double>> queries, @Name("strategy") String strategy,
                                @Name("n") long n, @Name(value = "exclude", defaultValue = "[]") List<Node> exclude,
                                @Name(value = "similar", defaultValue = "null") String similar,
                                @Name(value = "sources", defaultValue = "[]") List<List<Node>> sources) {
        if (property == null || stamp == null || queries == null || strategy == null) {
            throw new IllegalArgumentException("graphrec.topItems: property, stamp, queries and strategy are required");
        }
        if (sources != null && !sources.isEmpty() && (similar == null || sources.size() != queries.size())) {
            throw new IllegalArgumentException("graphrec.topItems: sources need a relationship type `similar` and one "
                    + "item list per query vector (" + queries.size() + "), got " + sources.size());
        }
        if (!STRATEGIES.contains(strategy)) {
            throw unknown(strategy);
        }
        if (queries.isEmpty() || n <= 0) {
            return Stream.empty();
        }
        Catalogue catalogue = catalogue(property, stamp);
        if (catalogue.size() == 0) {
            return Stream.empty();
        }
        double[][] q = queryVectors(queries, catalogue.dim(), property);
        double[][] weights = sources == null || sources.isEmpty() ? null : weightSums(catalogue, similar, sources);
        boolean[] out = new boolean[catalogue.size()];
        int kept = out.length;
        for (Node node : exclude == null ? List.<Node>of() : exclude) {
            Integer row = node == null ? null : catalogue.rows().get(node.getElementId());
            if (row != null && !out[row]) {
                out[row] = true;
                kept--;
            }
        }
        int wanted = (int) Math.min(Math.min(n, Integer.MAX_VALUE), kept);
        Ranked ranked = weights == null && !strategy.equals("borda")
                ? scanByNorm(catalogue, q, strategy, out, wanted)
                : scanAll(catalogue, q, weights, strategy, out, kept, wanted);
        List<Row> rows = new ArrayList<>();
        for (int e = 0; e < ranked.rows().length; e++) {
            List<Double> scores = new ArrayList<>(q.length);
            for (double s : ranked.members()[e]) {
                scores.add(s);
            }
            try {
                rows.add(new Row(tx.getNodeByElementId(catalogue.elementIds()[ranked.rows()[e]]), ranked.scores()[e],
                        scores));
            } catch (NotFoundException deleted) {
                // an item deleted since its version was read: not recommended
            }
        }
        return rows.stream();
    }

    /** The n best items, best first: their rows, aggregate scores and each query's score of them. */
    record Ranked(int[] rows, double[] scores, double[][] members) {
    }

    /** The n best items of a scan of the whole catalogue: Borda, whose points depend on every score, and the
     *  sums with item–item weights, which no vector norm bounds. */
    static Ranked scanAll(Catalogue catalogue, double[][] q, double[][] weights, String strategy, boolean[] out,
                          int kept, int n) {
        double[][] member = memberScores(catalogue, q, weights);
        double[] score = aggregate(member, strategy, out, kept, n);
        TopN top = new TopN(n, member.length, catalogue.ids());
        for (int i = 0; i < score.length; i++) {
            if (!out[i]) {
                top.offer(i, score[i], member, i);
            }
        }
        return top.ranked();
    }

    /** Blocks in the widest round of {@link #scanByNorm}: 262,144 items, so that a long scan runs in rounds large
     *  enough to split ({@link #PARALLEL_PRODUCTS}). */
    static final int ROUND_BLOCKS = 1024;

    /** Relative error allowed for in the bound of {@link #scanByNorm}: a float64 sum of 1,024 products is off
     *  by less than 1,024 x 2^-53 (about 1e-13) of |q| |v|. */
    static final double MARGIN = 1e-9;

    /**
     * The n best items by {@code average}, {@code least_misery} or {@code most_pleasure}, exactly, from the items
     * of largest norm down. The catalogue's rows are sorted by decreasing {@code |v_i|}, and by Cauchy–Schwarz
     * {@code q . v <= |q| |v|}, so an item's aggregate is at most {@code c |v_i|}: the mean of the scores is
     * {@code qbar . v_i} with {@code c = |qbar|}; the lowest is at most any member's and the mean, so
     * {@code c = min(min_m |q_m|, |qbar|)}; the highest {@code c = max_m |q_m|}. Once n items are held and
     * {@code c |v_i|} falls below the worst of them, neither item i nor any later one can enter (an equal score
     * still could, by a lower id, so the test is strict) and the scan stops. It reads the blocks in rounds of 1, 2,
     * 4, ... {@link #ROUND_BLOCKS} blocks, each round's products in parallel when they are many, so a query whose
     * best items have long vectors (a trained model's popular items) reads a few blocks, and one that cannot be
     * cut costs what a whole scan costs. Least misery also reads one query (the shortest) for every item of a round,
     * and the others only for the items whose score by it reaches the worst of the n held: the lowest score is at
     * most that one. The scores are the same float64 sums as {@link #scanAll}'s.
     */
    static Ranked scanByNorm(Catalogue catalogue, double[][] q, String strategy, boolean[] out, int n) {
        int items = catalogue.size(), members = q.length, blocks = (items + BLOCK - 1) / BLOCK, dim = catalogue.dim();
        int code = strategy.equals("average") ? 0 : strategy.equals("least_misery") ? 1 : 2;
        double reach = reach(q, code);
        double[] norms = catalogue.norms();
        float[] v = catalogue.vectors();
        TopN top = new TopN(n, members, catalogue.ids());
        int lead = code == 1 ? shortest(q) : -1;  // least misery: the one query read for every item
        double[][] first = lead < 0 ? q : new double[][] {q[lead]};
        double[][] member = new double[members][0];
        int[] alive = new int[0];
        boolean done = n == 0;
        for (int b = 0, round = 1; b < blocks && !done; b += round, round = Math.min(2 * round, ROUND_BLOCKS)) {
            int from = b, to = Math.min(blocks, b + round), base = b * BLOCK, end = Math.min(items, to * BLOCK);
            if (alive.length < end - base) {  // the rounds grow: buffers as large as this one
                member = new double[members][end - base];
                alive = new int[end - base];
            }
            double[][] scores = member, firstScores = lead < 0 ? member : new double[][] {member[lead]};
            int[] kept = alive;  // this round's buffers, final for the parallel lambdas
            if ((long) (end - base) * dim * first.length >= PARALLEL_PRODUCTS) {
                IntStream.range(from, to).parallel().forEach(k -> products(catalogue, first, firstScores, k, base));
            } else {
                for (int k = from; k < to; k++) {
                    products(catalogue, first, firstScores, k, base);
                }
            }
            double floor = lead >= 0 && top.full() ? top.worst() : Double.NEGATIVE_INFINITY;
            int count = 0;
            for (int i = base; i < end; i++) {  // least misery is at most the lead query's score
                if (!out[i] && !(lead >= 0 && member[lead][i - base] < floor)) {
                    alive[count++] = i;
                }
            }
            if (lead >= 0) {
                IntStream rest = IntStream.range(0, count);
                ((long) count * dim * (members - 1) >= PARALLEL_PRODUCTS ? rest.parallel() : rest).forEach(c -> {
                    for (int m = 0; m < members; m++) {
                        if (m != lead) {
                            scores[m][kept[c] - base] = dot(q[m], v, kept[c] * dim, dim);
                        }
                    }
                });
            }
            for (int c = 0; c < count; c++) {
                int i = alive[c], at = i - base;
                if (top.full() && reach * norms[i] < top.worst()) {
                    done = true;
                    break;
                }
                double a = code == 0 ? 0.0 : code == 1 ? Double.POSITIVE_INFINITY : Double.NEGATIVE_INFINITY;
                for (double[] sm : member) {  // aggregate()'s arithmetic, member by member
                    a = code == 0 ? a + sm[at] / members : code == 1 ? Math.min(a, sm[at]) : Math.max(a, sm[at]);
                }
                top.offer(i, a, member, at);
            }
        }
        return top.ranked();
    }

    /** The index of the shortest query vector (the first of equal norms). */
    private static int shortest(double[][] q) {
        int best = 0;
        for (int m = 1; m < q.length; m++) {
            if (norm(q[m]) < norm(q[best])) {
                best = m;
            }
        }
        return best;
    }

    /** {@code c} of {@link #scanByNorm} for strategy {@code code} (0 average, 1 least misery, 2 most pleasure),
     *  plus {@link #MARGIN} of the longest query's norm. A NaN stays NaN, and then nothing is cut. */
    static double reach(double[][] q, int code) {
        int dim = q[0].length;
        double[] mean = new double[dim];
        double shortest = Double.POSITIVE_INFINITY, longest = 0.0;
        for (double[] qm : q) {
            double norm = norm(qm);
            shortest = Math.min(shortest, norm);
            longest = Math.max(longest, norm);
            for (int d = 0; d < dim; d++) {
                mean[d] += qm[d] / q.length;
            }
        }
        double c = code == 0 ? norm(mean) : code == 1 ? Math.min(shortest, norm(mean)) : longest;
        return c + MARGIN * longest;
    }

    private static double norm(double[] x) {
        double s = 0.0;
        for (double xd : x) {
            s += xd * xd;
        }
        return Math.sqrt(s);
    }

    /** The n best items offered so far, each with its queries' scores: a heap whose root is the worst of them
     *  (the lowest score; of equal scores, the highest id). */
    static final class TopN {
        private final int[] rows;
        private final double[] scores;
        private final double[][] members;
        private final long[] ids;
        private int size;

        TopN(int n, int queries, long[] ids) {
            rows = new int[n];
            scores = new double[n];
            members = new double[n][queries];
            this.ids = ids;
        }

        boolean full() {
            return size == rows.length;
        }

        /** The worst score held (with n held). */
        double worst() {
            return scores[0];
        }

        /** Hold row i with aggregate s (its queries' scores {@code member[m][at]}) if it is among the n best. */
        void offer(int i, double s, double[][] member, int at) {
            int c;
            if (size < rows.length) {
                c = size++;
                while (c > 0 && better(scores[(c - 1) / 2], rows[(c - 1) / 2], s, i)) {
                    move((c - 1) / 2, c);
                    c = (c - 1) / 2;
                }
            } else if (rows.length > 0 && better(s, i, scores[0], rows[0])) {
                c = 0;
                while (true) {
                    int child = 2 * c + 1;
                    if (child >= size) {
                        break;
                    }
                    if (child + 1 < size && better(scores[child], rows[child], scores[child + 1], rows[child + 1])) {
                        child++;
                    }
                    if (better(s, i, scores[child], rows[child])) {
                        move(child, c);
                        c = child;
                    } else {
                        break;
                    }
                }
            } else {
                return;
            }
            rows[c] = i;
            scores[c] = s;
            for (int m = 0; m < member.length; m++) {
                members[c][m] = member[m][at];
            }
        }

        private void move(int from, int to) {
            double[] displaced = members[to];
            rows[to] = rows[from];
            scores[to] = scores[from];
            members[to] = members[from];
            members[from] = displaced;
        }

        /** Whether (score a, row ra) ranks above (score b, row rb): the higher score; of equal scores (0.0 and
         *  -0.0 alike), the lower id. */
        private boolean better(double a, int ra, double b, int rb) {
            return a != b ? Double.compare(a, b) > 0 : ids[ra] < ids[rb];
        }

        Ranked ranked() {
            Integer[] order = new Integer[size];
            for (int e = 0; e < size; e++) {
                order[e] = e;
            }
            Arrays.sort(order, (x, y) -> better(scores[x], rows[x], scores[y], rows[y]) ? -1
                    : better(scores[y], rows[y], scores[x], rows[x]) ? 1 : 0);
            Ranked ranked = new Ranked(new int[size], new double[size], new double[size][]);
            for (int e = 0; e < size; e++) {
                ranked.rows()[e] = rows[order[e]];
                ranked.scores()[e] = scores[order[e]];
                ranked.members()[e] = members[order[e]];
            }
            return ranked;
        }
    }

    @UserFunction(name = "graphrec.innerProducts")
    @Description("graphrec.innerProducts(property, stamp, queries, nodes) :: list of lists: for each node, the inner "
            + "product of each query vector with the node's vector in `property` (null for a null query or a node "
            + "without that vector).")
    public List<List<Double>> innerProducts(@Name("property") String property, @Name("stamp") String stamp,
                                            @Name("queries") List<List<Double>> queries,
                                            @Name("nodes") List<Node> nodes) {
        if (property == null || stamp == null || queries == null || nodes == null) {
            throw new IllegalArgumentException(
                    "graphrec.innerProducts: property, stamp, queries and nodes are required");
        }
        Catalogue catalogue = catalogue(property, stamp);
        double[][] q = new double[queries.size()][];
        for (int m = 0; m < q.length; m++) {
            q[m] = queries.get(m) == null ? null
                    : queryVector("graphrec.innerProducts", queries.get(m), m, catalogue.dim(), property);
        }
        List<List<Double>> products = new ArrayList<>(nodes.size());
        for (Node node : nodes) {
            Integer row = node == null ? null : catalogue.rows().get(node.getElementId());
            Double[] forNode = new Double[q.length];
            for (int m = 0; m < q.length; m++) {
                if (row != null && q[m] != null) {
                    forNode[m] = dot(q[m], catalogue.vectors(), row * catalogue.dim(), catalogue.dim());
                }
            }
            products.add(Arrays.asList(forNode));
        }
        return products;
    }

    /** Per source, the sums of its items' relationships of type {@code similar} into each item of the catalogue
     *  (by row; items without vectors left out), added up as graphrec.itemWeights adds them. */
    static double[][] weightSums(Catalogue catalogue, String similar, List<List<Node>> sources) {
        RelationshipType type = RelationshipType.withName(similar);
        double[][] sums = new double[sources.size()][];
        for (int m = 0; m < sums.length; m++) {
            double[] sum = sums[m] = new double[catalogue.size()];
            ItemWeights.forEachWeight(sources.get(m) == null ? List.of() : sources.get(m), type, (to, weight) -> {
                Integer row = catalogue.rows().get(to.getElementId());
                if (row != null) {
                    sum[row] += weight;
                }
            });
        }
        return sums;
    }

    /** Each query's score of every item, by row: q . v, plus the weight sums `weights[m]` when not null. */
    static double[][] memberScores(Catalogue catalogue, double[][] q, double[][] weights) {
        int items = catalogue.size(), members = q.length;
        double[][] member = new double[members][items];
        int blocks = (items + BLOCK - 1) / BLOCK;
        if ((long) items * catalogue.dim() * members >= PARALLEL_PRODUCTS) {
            IntStream.range(0, blocks).parallel().forEach(b -> products(catalogue, q, member, b, 0));
        } else {
            for (int b = 0; b < blocks; b++) {
                products(catalogue, q, member, b, 0);
            }
        }
        for (int m = 0; weights != null && m < members; m++) {
            for (int i = 0; i < items; i++) {
                member[m][i] = weights[m][i] + member[m][i];  // the order of recommend_group's w + q . v
            }
        }
        return member;
    }

    /** The members' scores `member` aggregated by `strategy`; excluded items (`out`) are not ranked. Every item's
     *  aggregate is exact, except Borda's below its {@code n} best ({@link #borda}). */
    static double[] aggregate(double[][] member, String strategy, boolean[] out, int kept, int n) {
        int members = member.length, items = members == 0 ? 0 : member[0].length;
        double[] score = new double[items];
        switch (strategy) {
            case "average" -> {
                for (double[] sm : member) {
                    for (int i = 0; i < items; i++) {
                        score[i] += sm[i] / members;
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
            case "borda" -> borda(member, out, kept, n, score);
            default -> throw unknown(strategy);
        }
        return score;
    }

    static final List<String> STRATEGIES = List.of("average", "least_misery", "most_pleasure", "borda");

    private static IllegalArgumentException unknown(String strategy) {
        return new IllegalArgumentException("graphrec.topItems: unknown strategy '" + strategy
                + "' (average, least_misery, most_pleasure or borda)");
    }

    /** The inner products of every query vector with the items of block `b`, into `member` from column
     *  {@code row - base} (float64 sums of the float32 vectors; four items at a time, query by query, a block's rows
     *  staying in cache for the next). */
    static void products(Catalogue catalogue, double[][] q, double[][] member, int b, int base) {
        int dim = catalogue.dim(), end = Math.min(catalogue.size(), (b + 1) * BLOCK);
        float[] v = catalogue.vectors();
        for (int m = 0; m < q.length; m++) {
            double[] qm = q[m], sm = member[m];
            int i = b * BLOCK;
            for (; i + 3 < end; i += 4) {
                dot4(qm, v, i, dim, sm, i - base);
            }
            for (; i < end; i++) {
                sm[i - base] = dot(qm, v, i * dim, dim);
            }
        }
    }

    /** Lanes of the scan: float64 sums as wide as the machine's vectors, over as many float32 values. */
    static final VectorSpecies<Double> SUMS = DoubleVector.SPECIES_PREFERRED;
    static final VectorSpecies<Float> VALUES = VectorSpecies.of(float.class,
            VectorShape.forBitSize(SUMS.vectorBitSize() / 2));

    /** {@code out[at + r] = q . v[(i + r) dim, (i + r + 1) dim)} for the four rows r = 0..3, in SIMD lanes (the
     *  Vector API, jdk.incubator.vector, which Neo4j 5's launcher adds to the server's modules): each of q's
     *  lanes is read once for four rows, which keeps four streams of the rows in flight. */
    static void dot4(double[] q, float[] v, int i, int dim, double[] out, int at) {
        int o0 = i * dim, o1 = o0 + dim, o2 = o1 + dim, o3 = o2 + dim, step = SUMS.length();
        int bound = SUMS.loopBound(dim);
        DoubleVector a0 = DoubleVector.zero(SUMS), a1 = a0, a2 = a0, a3 = a0;
        for (int d = 0; d < bound; d += step) {
            DoubleVector qd = DoubleVector.fromArray(SUMS, q, d);
            a0 = qd.fma(widened(v, o0 + d), a0);
            a1 = qd.fma(widened(v, o1 + d), a1);
            a2 = qd.fma(widened(v, o2 + d), a2);
            a3 = qd.fma(widened(v, o3 + d), a3);
        }
        out[at] = a0.reduceLanes(VectorOperators.ADD) + tail(q, v, o0, bound, dim);
        out[at + 1] = a1.reduceLanes(VectorOperators.ADD) + tail(q, v, o1, bound, dim);
        out[at + 2] = a2.reduceLanes(VectorOperators.ADD) + tail(q, v, o2, bound, dim);
        out[at + 3] = a3.reduceLanes(VectorOperators.ADD) + tail(q, v, o3, bound, dim);
    }

    /** v[at, at + SUMS.length()) as float64 lanes. */
    private static DoubleVector widened(float[] v, int at) {
        return (DoubleVector) FloatVector.fromArray(VALUES, v, at).convertShape(VectorOperators.F2D, SUMS, 0);
    }

    /** q . v[base, base + dim) over the dimensions from `from` on, one at a time. */
    private static double tail(double[] q, float[] v, int base, int from, int dim) {
        double s = 0.0;
        for (int d = from; d < dim; d++) {
            s += q[d] * v[base + d];
        }
        return s;
    }

    /** q . v[base, base + dim): {@link #dot4}'s sums for one row. */
    static double dot(double[] q, float[] v, int base, int dim) {
        int bound = SUMS.loopBound(dim);
        DoubleVector a = DoubleVector.zero(SUMS);
        for (int d = 0; d < bound; d += SUMS.length()) {
            a = DoubleVector.fromArray(SUMS, q, d).fma(widened(v, base + d), a);
        }
        return a.reduceLanes(VectorOperators.ADD) + tail(q, v, base, bound, dim);
    }

    /** Buckets of a member's scores in {@link #borda}, at most (one per item when fewer): 256 KB of counts. */
    static final int BUCKETS = 1 << 16;

    /**
     * Borda points into {@code score} (zeros, by row): exact for every item that can be among the {@code n} best
     * (ties included) and, for every other item, a lower bound below those n.
     *
     * <p>Member m's points for item i are {@code p_m(i) = #{j left, j != i : s_m(j) <= s_m(i)}}. The member's scores
     * are cut into {@link #BUCKETS} equal ranges between its lowest and highest; bucket(s) never decreases with s,
     * so with {@code below(b)} the items in lower buckets and {@code c(b)} those in b,
     * {@code below(b) <= p_m(i) <= below(b) + c(b) - 1}. Summed over the members, these bound each item's points
     * by {@code [L(i), U(i)]}. Let t be the n-th largest L: at least n items have points {@code >= t}, so an item
     * with {@code U(i) < t} is not among the n best, and only the others (the candidates, ties at t included) get
     * their exact points, by counting the scores {@code <= s_m(i)} within i's bucket (the buckets that hold a
     * candidate are gathered and sorted). Every pass is linear in the catalogue: it reads each member's scores four
     * times and sorts the few buckets that hold a candidate, where a sort of every member's whole catalogue (a
     * radix sort before) was most of a Borda query at 10x Gowalla.
     */
    static void borda(double[][] member, boolean[] out, int kept, int n, double[] score) {
        int items = score.length, buckets = Math.max(1, Math.min(BUCKETS, kept));
        if (kept == 0) {
            return;
        }
        double[] low = new double[items], high = new double[items];
        double[] from = new double[member.length], scale = new double[member.length];
        int[][] start = new int[member.length][];
        for (int m = 0; m < member.length; m++) {
            double[] sm = member[m];
            double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < items; i++) {
                if (!out[i]) {
                    lo = Math.min(lo, sm[i]);
                    hi = Math.max(hi, sm[i]);
                }
            }
            double width = hi - lo;
            from[m] = lo;
            scale[m] = width > 0 && Double.isFinite(width) ? buckets / width : 0.0;
            int[] first = start[m] = new int[buckets + 1];
            for (int i = 0; i < items; i++) {
                if (!out[i]) {
                    first[bucket(sm[i], lo, scale[m], buckets) + 1]++;
                }
            }
            for (int b = 0; b < buckets; b++) {
                first[b + 1] += first[b];
            }
            for (int i = 0; i < items; i++) {
                if (!out[i]) {
                    int b = bucket(sm[i], lo, scale[m], buckets);
                    low[i] += first[b];
                    high[i] += first[b + 1] - 1;
                }
            }
        }
        double threshold = nthLargest(low, out, n);
        int[] candidates = new int[kept];
        int count = 0;
        for (int i = 0; i < items; i++) {
            if (!out[i]) {
                boolean candidate = high[i] >= threshold;
                score[i] = candidate ? 0.0 : low[i];
                if (candidate) {
                    candidates[count++] = i;
                }
            }
        }
        double[] values = new double[kept];
        int[] at = new int[buckets + 1];
        for (int m = 0; m < member.length; m++) {
            double[] sm = member[m];
            int[] first = start[m];
            boolean[] wanted = new boolean[buckets];
            for (int c = 0; c < count; c++) {
                wanted[bucket(sm[candidates[c]], from[m], scale[m], buckets)] = true;
            }
            for (int b = 0, next = 0; b < buckets; b++) {  // the wanted buckets' places in `values`, in order
                at[b] = next;
                next += wanted[b] ? first[b + 1] - first[b] : 0;
            }
            int[] fill = at.clone();
            for (int i = 0; i < items; i++) {
                if (!out[i]) {
                    int b = bucket(sm[i], from[m], scale[m], buckets);
                    if (wanted[b]) {
                        values[fill[b]++] = sm[i] + 0.0;  // -0.0 counts as 0.0
                    }
                }
            }
            for (int b = 0; b < buckets; b++) {
                if (wanted[b]) {
                    Arrays.sort(values, at[b], fill[b]);
                }
            }
            for (int c = 0; c < count; c++) {
                int i = candidates[c], b = bucket(sm[i], from[m], scale[m], buckets);
                score[i] += first[b] + ItemWeights.atMost(values, at[b], fill[b], sm[i] + 0.0) - 1;
            }
        }
    }

    /** The bucket of score {@code s} among {@code buckets} from {@code lo}, {@code scale} buckets a unit. */
    private static int bucket(double s, double lo, double scale, int buckets) {
        return (int) Math.min(buckets - 1, (s - lo) * scale);
    }

    /** The {@code n}-th largest of {@code values} among the items not {@code out} (the smallest when fewer). */
    static double nthLargest(double[] values, boolean[] out, int n) {
        double[] heap = new double[Math.max(1, Math.min(n, values.length))];  // a min-heap of the n largest so far
        int size = 0;
        for (int i = 0; i < values.length; i++) {
            if (out[i]) {
                continue;
            }
            double v = values[i];
            if (size < heap.length) {
                int c = size++;
                while (c > 0 && heap[(c - 1) / 2] > v) {
                    heap[c] = heap[(c - 1) / 2];
                    c = (c - 1) / 2;
                }
                heap[c] = v;
            } else if (v > heap[0]) {
                int c = 0;
                while (true) {
                    int child = 2 * c + 1;
                    if (child >= size) {
                        break;
                    }
                    if (child + 1 < size && heap[child + 1] < heap[child]) {
                        child++;
                    }
                    if (heap[child] >= v) {
                        break;
                    }
                    heap[c] = heap[child];
                    c = child;
                }
                heap[c] = v;
            }
        }
        return size == 0 ? Double.NEGATIVE_INFINITY : heap[0];
    }

    static double[][] queryVectors(List<List<Double>> queries, int dim, String property) {
        double[][] q = new double[queries.size()][];
        for (int m = 0; m < q.length; m++) {
            q[m] = queryVector("graphrec.topItems", queries.get(m), m, dim, property);
        }
        return q;
    }

    /** Query vector m as float64 (a null entry taken as 0.0); one of another width than the items' is an error. */
    static double[] queryVector(String caller, List<Double> query, int m, int dim, String property) {
        if (query == null || query.size() != dim) {
            throw new IllegalArgumentException(caller + ": query " + m + " has "
                    + (query == null ? "no" : query.size()) + " dimensions; the items' " + property + " has " + dim);
        }
        double[] q = new double[dim];
        for (int d = 0; d < dim; d++) {
            Double x = query.get(d);
            q[d] = x == null ? 0.0 : x;
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
        double[] length = new double[rows.size()];
        for (int i = 0; i < length.length; i++) {
            double s = 0.0;
            for (float x : rows.get(i)) {
                s += (double) x * x;
            }
            length[i] = Double.isNaN(s) ? Double.POSITIVE_INFINITY : Math.sqrt(s);
        }
        Integer[] order = IntStream.range(0, length.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, (a, b) -> Double.compare(length[b], length[a]));  // stable: ties keep the read order
        int width = Math.max(dim, 0);
        float[] vectors = new float[rows.size() * width];
        String[] elements = new String[rows.size()];
        long[] numbers = new long[rows.size()];
        double[] norms = new double[rows.size()];
        Map<String, Integer> index = new HashMap<>();
        for (int r = 0; r < order.length; r++) {
            int i = order[r];
            System.arraycopy(rows.get(i), 0, vectors, r * width, width);
            elements[r] = elementIds.get(i);
            numbers[r] = ids.get(i);
            norms[r] = length[i];
            index.put(elements[r], r);
        }
        return new Catalogue(elements, index, numbers, vectors, width, norms);
    }

    /** A vector property as float32, as write-back stores it (`db.create.setNodeVectorProperty`); float64 arrays
     *  (a vector written as a plain list) narrowed. */
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
