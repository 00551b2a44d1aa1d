package io.graphrec.procedures;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.neo4j.graphdb.Node;
import org.neo4j.procedure.Description;
import org.neo4j.procedure.Name;
import org.neo4j.procedure.UserFunction;

/**
 * {@code graphrec.mmr}: serving's MMR re-ranking (maximal marginal relevance, Carbonell &amp; Goldstein 1998), the
 * one implementation that {@code cypher/recommend_user.cypher} and {@code cypher/recommend_group.cypher} call
 * with {@code $diversity} lambda &gt; 0. It computes what {@code graphrec.evaluation.diversity.mmr_order}, the
 * offline model, computes (tests/test_recommend.py checks the two on known answers):
 *
 * <p>Of the given pool ({@code items} with their {@code scores}, the 3k best), pick {@code min(k, size)} items
 * greedily, each time the item left of highest
 * {@code (1 - lambda) * relevance - lambda * (its largest cosine to the items picked so far)}, that largest cosine
 * taken as 0 for the first pick; relevance is the score min-max scaled over the pool (1 for every item when the
 * scores are all equal); the cosine is that of the items' vectors in the node property {@code property} (the
 * model's item vectors or the items' text vectors), 0 when either item has none (no property, a null
 * {@code property}, or a zero vector). Ties go to the better-ranked item: the higher score, then the earlier
 * position. With {@code lambda} 0 or null the answer is the ranking by score (the first k positions of a ranked
 * pool), the vectors unread. It returns the positions (0-based, into {@code items}) of the picked items, in pick
 * order, so the caller keeps its rows, scores included: {@code [n IN graphrec.mmr(...) | ranked[n]]}.
 *
 * <p>Arithmetic in float64, as the offline model's (the vectors are read as stored, float32 or float64). Before
 * it, each Cypher file held its own copy of the loop, a {@code reduce} over Neo4j's
 * {@code vector.similarity.cosine} (float32 arithmetic, and an error for a zero vector).
 */
public final class Mmr {

    @UserFunction(name = "graphrec.mmr")
    @Description("graphrec.mmr(items, scores, k, lambda, property) :: LIST<INTEGER>: the positions (into items, "
            + "in pick order) of the k items MMR picks from the pool: each time the item of highest "
            + "(1 - lambda) * (its score min-max scaled over the pool) - lambda * (its largest cosine, of the "
            + "vectors in `property`, to the items picked so far; 0 for the first pick or without a vector), "
            + "ties to the higher score, then the earlier position. lambda 0 or null: the ranking by score.")
    public List<Long> mmr(@Name("items") List<Node> items, @Name("scores") List<Number> scores, @Name("k") Long k,
                          @Name("lambda") Double lambda, @Name("property") String property) {
        if (items == null || scores == null || k == null) {
            throw new IllegalArgumentException("graphrec.mmr: items, scores and k are required");
        }
        int n = items.size();
        if (scores.size() != n) {
            throw new IllegalArgumentException("graphrec.mmr: " + n + " items but " + scores.size() + " scores");
        }
        double[] score = new double[n];
        for (int p = 0; p < n; p++) {
            Number value = scores.get(p);
            if (value == null || Double.isNaN(value.doubleValue())) {
                throw new IllegalArgumentException("graphrec.mmr: the score at position " + p + " is not a number");
            }
            score[p] = value.doubleValue();
        }
        // The pool by score, best first, stable: ties keep their positions (mmr_order's argsort).
        Integer[] order = new Integer[n];
        Arrays.setAll(order, p -> p);
        Arrays.sort(order, (a, b) -> score[a] > score[b] ? -1 : score[a] < score[b] ? 1 : 0);
        int picks = (int) Math.max(0, Math.min(k, n));
        double lam = lambda == null ? 0.0 : lambda;
        List<Long> picked = new ArrayList<>(picks);
        if (lam == 0.0) {
            for (int r = 0; r < picks; r++) {
                picked.add((long) order[r]);
            }
            return picked;
        }
        // From here on, r indexes the pool in that order.
        double high = n > 0 ? score[order[0]] : 0.0, low = n > 0 ? score[order[n - 1]] : 0.0;
        double[] relevance = new double[n];
        double[][] unit = new double[n][];
        for (int r = 0; r < n; r++) {
            relevance[r] = high > low ? (score[order[r]] - low) / (high - low) : 1.0;
            unit[r] = property == null ? null : unit(items.get(order[r]), property);
        }
        double[] closest = new double[n];
        boolean[] left = new boolean[n];
        Arrays.fill(left, true);
        for (int step = 0; step < picks; step++) {
            int best = -1;
            double bestValue = 0.0;
            for (int r = 0; r < n; r++) {
                if (!left[r]) {
                    continue;
                }
                double value = (1 - lam) * relevance[r] - (step > 0 ? lam * closest[r] : 0.0);
                if (best < 0 || value > bestValue) {  // strictly: a tie stays with the better-ranked
                    best = r;
                    bestValue = value;
                }
            }
            picked.add((long) order[best]);
            left[best] = false;
            for (int r = 0; r < n; r++) {
                if (left[r]) {
                    double cosine = cosine(unit[best], unit[r], property);
                    closest[r] = step > 0 ? Math.max(closest[r], cosine) : cosine;
                }
            }
        }
        return picked;
    }

    /** The node's vector in `property` scaled to length 1; null without one or for a zero vector. */
    static double[] unit(Node node, String property) {
        Object value = node == null ? null : node.getProperty(property, null);
        if (value == null) {
            return null;
        }
        double[] vector;
        if (value instanceof float[] v) {
            vector = new double[v.length];
            Arrays.setAll(vector, d -> v[d]);
        } else if (value instanceof double[] v) {
            vector = v.clone();
        } else if (value instanceof long[] v) {
            vector = Arrays.stream(v).asDoubleStream().toArray();
        } else if (value instanceof int[] v) {
            vector = Arrays.stream(v).asDoubleStream().toArray();
        } else {
            throw new IllegalArgumentException("graphrec.mmr: the property " + property + " of an item is not a "
                    + "list of numbers");
        }
        double sum = 0.0;
        for (double x : vector) {
            sum += x * x;
        }
        double norm = Math.sqrt(sum);
        if (!(norm > 0)) {
            return null;
        }
        for (int d = 0; d < vector.length; d++) {
            vector[d] /= norm;
        }
        return vector;
    }

    /** The cosine of two unit vectors; 0 when either is missing. */
    static double cosine(double[] a, double[] b, String property) {
        if (a == null || b == null) {
            return 0.0;
        }
        if (a.length != b.length) {
            throw new IllegalArgumentException("graphrec.mmr: vectors of " + a.length + " and " + b.length
                    + " dimensions in the property " + property);
        }
        double dot = 0.0;
        for (int d = 0; d < a.length; d++) {
            dot += a[d] * b[d];
        }
        return dot;
    }
}
