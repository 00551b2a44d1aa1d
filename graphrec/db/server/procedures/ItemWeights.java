package io.graphrec.procedures;

import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * <p>{@code cypher/recommend_group.cypher} (every member, then the group) and {@code cypher/recommend_user.cypher}
 * (the user) call it instead of expanding the relationships in Cypher (one row per relationship, then one sum per
 * item and source): the same sums; a group's top 20 on Gowalla went from 52–80 to 36–57 ms at the median
 * (BENCHMARKS.md).
 */
public final class ItemWeights {

    /** An item reached so far and its running sum from each source. */
    private record Reached(Node node, double[] sum) {
    }

    /** One yielded row: an item and its weight sum from each source. */
    public static final class Row {
        public Node node;
        public List<Double> weights;

        Row(Node node, List<Double> weights) {
            this.node = node;
            this.weights = weights;
        }
    }

    @Procedure(name = "graphrec.itemWeights", mode = Mode.READ)
    @Description("graphrec.itemWeights(type, sources, exclude) :: (node, weights): every item reached by a "
            + "relationship of `type` from the items of some source in `sources` (a list of item lists), those in "
            + "`exclude` left out, with the sum of the relationships' `weight` from each source.")
    public Stream<Row> itemWeights(@Name("type") String type, @Name("sources") List<List<Node>> sources,
                                   @Name(value = "exclude", defaultValue = "[]") List<Node> exclude) {
        if (type == null || sources == null) {
            throw new IllegalArgumentException("graphrec.itemWeights: type and sources are required");
        }
        RelationshipType relationship = RelationshipType.withName(type);
        Set<String> out = new HashSet<>();
        for (Node node : exclude == null ? List.<Node>of() : exclude) {
            if (node != null) {
                out.add(node.getElementId());
            }
        }
        int count = sources.size();
        Map<String, Reached> reached = new LinkedHashMap<>();  // by element id, in the order first reached
        for (int x = 0; x < count; x++) {
            List<Node> items = sources.get(x);
            if (items == null) {
                continue;
            }
            for (Node from : items) {
                if (from == null) {
                    continue;
                }
                for (Relationship edge : from.getRelationships(Direction.OUTGOING, relationship)) {
                    Node to = edge.getEndNode();
                    String key = to.getElementId();
                    if (out.contains(key)) {
                        continue;
                    }
                    Reached item = reached.computeIfAbsent(key, k -> new Reached(to, new double[count]));
                    if (edge.getProperty("weight", null) instanceof Number weight) {
                        item.sum()[x] += weight.doubleValue();
                    }
                }
            }
        }
        return reached.values().stream().map(item -> new Row(item.node(), Arrays.stream(item.sum()).boxed().toList()));
    }
}
