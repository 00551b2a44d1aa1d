"""Evaluation of user and group recommendation: the sampled leave-one-out and full-ranking protocols, member
aggregation and popularity baselines, fairness figures, and the side-by-side run of `graphrec evaluate`."""
from graphrec.evaluation.fairness import member_satisfaction
from graphrec.evaluation.protocol import (Candidates, full_metrics, pessimistic_ranks, ranks_to_metrics,
                                          sampled_candidates, sampled_metrics)
from graphrec.evaluation.run import METHODS, EvalConfig, evaluate_snapshot, format_report, holdout
from graphrec.evaluation.scorers import STRATEGIES, DotScorer, MemberScorer, PopularityScorer, padded_members

__all__ = [
    "METHODS", "STRATEGIES", "Candidates", "DotScorer", "EvalConfig", "MemberScorer", "PopularityScorer",
    "evaluate_snapshot", "format_report", "full_metrics", "holdout", "member_satisfaction", "padded_members",
    "pessimistic_ranks", "ranks_to_metrics", "sampled_candidates", "sampled_metrics",
]
