"""Evaluation of user and group recommendation: the sampled leave-one-out and full-ranking protocols, member
aggregation, fairness figures, the evaluator that measures fitted models side by side, and the report."""
from graphrec.evaluation.fairness import member_satisfaction
from graphrec.evaluation.protocol import (
                                          Candidates,
                                          EvalConfig,
                                          pessimistic_ranks,
                                          ranks_to_metrics,
                                          sampled_candidates,
                                          sampled_metrics,
)
from graphrec.evaluation.report import Report, format_report, save_report
from graphrec.evaluation.run import Evaluator
from graphrec.evaluation.scorers import STRATEGIES, MemberScorer, padded_members

__all__ = [
    "STRATEGIES", "Candidates", "EvalConfig", "Evaluator", "MemberScorer", "Report", "format_report",
    "member_satisfaction", "padded_members", "pessimistic_ranks", "ranks_to_metrics",
    "sampled_candidates", "sampled_metrics", "save_report",
]
