"""`graphrec recommend user|group`, `similar` and `explain user|group`: serving from the active model
(`graphrec.recommend`), and how its answers are printed."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from graphrec.cli.common import ID, format_table, parse_params, runner, typed, weight
from graphrec.recommend import MAX_K, SIMILAR_BY, STRATEGIES  # constants only: the module loads no driver

if TYPE_CHECKING:
    from graphrec.db.runner import QueryRunner
    from graphrec.recommend import Ranking, Recommender

K = typed("parse_id", 1, MAX_K, "k")


def add_commands(commands: Any, connection: argparse.ArgumentParser) -> None:
    """Add `recommend`, `similar` and `explain` to `commands` (an argparse subparsers action)."""
    serving = argparse.ArgumentParser(add_help=False, parents=[connection])
    serving.add_argument("-k", type=K, default=10, help=f"how many items, 1 to {MAX_K} (default 10)")
    serving.add_argument("--filter", action="append", default=[], metavar="PROPERTY=VALUE",
                         help="only items whose PROPERTY equals VALUE (JSON when it parses, else a string)")
    serving.add_argument("--json", action="store_true", help="print JSON")
    serving.add_argument("--exact", action="store_true",
                         help="score every item in Cypher instead of taking candidates from graphrec.topItems (slower)")
    excluding = argparse.ArgumentParser(add_help=False)
    excluding.add_argument("--exclude", type=ID, nargs="+", default=[], metavar="ITEM", help="never these items")
    excluding.add_argument("--diversity", type=weight, default=None, metavar="LAMBDA",
                           help="re-rank the 3k best by MMR with this weight in [0, 1] (default: none)")
    excluding.add_argument("--diversity-by", choices=("graph", "text"), default="graph",
                           help="the vectors MMR compares: the model's item vectors (graph, default) or text")
    recommend = commands.add_parser("recommend", help="top-k items for a user or a group (active model)")
    subjects = recommend.add_subparsers(title="for", metavar="user|group", required=True)
    for_user = subjects.add_parser("user", parents=[serving, excluding],
                                   help="by the user's vector; new users folded in, users without history: popular")
    for_user.add_argument("id", type=ID, metavar="USER")
    for_user.set_defaults(run=_recommend_user)
    for_group = subjects.add_parser("group", parents=[serving, excluding], help="by a group strategy")
    for_group.add_argument("id", type=ID, metavar="GROUP")
    for_group.add_argument("--strategy", choices=STRATEGIES, default="combined",
                           help="how members' scores make the group's (default combined: the group's own "
                                "vector mixed with the members' average, or the average without one)")
    for_group.add_argument("--exclude-member-items", action="store_true",
                           help="also leave out items any member already has")
    for_group.set_defaults(run=_recommend_group)
    similar = commands.add_parser("similar", parents=[serving], help="items most similar to ITEM (cosine)")
    similar.add_argument("id", type=ID, metavar="ITEM")
    similar.add_argument("--by", choices=SIMILAR_BY, default="graph",
                         help="similar by the model's vectors or weights (graph, default), the items' text "
                              "vectors (text: a version trained with [text]) or the mean of both")
    similar.set_defaults(run=_similar)
    explain = commands.add_parser("explain", help="why an item suits a user or a group")
    explained = explain.add_subparsers(title="for", metavar="user|group", required=True)
    for kind in ("user", "group"):
        why = explained.add_parser(kind, parents=[connection], help=f"why ITEM suits {kind.upper()}")
        why.add_argument("id", type=ID, metavar=kind.upper())
        why.add_argument("item", type=ID, metavar="ITEM")
        why.add_argument("-n", type=typed("parse_id", 1, MAX_K, "n"), default=3,
                         help="how many of their own items to show (default 3)")
        why.add_argument("--json", action="store_true", help="print JSON")
        why.set_defaults(run=_explain, kind=kind)


def _recommend_user(args: argparse.Namespace) -> int:
    with runner(args) as db:
        ranking = _recommender(db, args).recommend_user(args.id, args.k, filter=parse_params(args.filter),
                                                        exclude=args.exclude, diversity=args.diversity,
                                                        diversity_by=args.diversity_by)
    _print_ranking(ranking, args.json)
    return 0


def _recommend_group(args: argparse.Namespace) -> int:
    with runner(args) as db:
        ranking = _recommender(db, args).recommend_group(
            args.id, args.k, strategy=args.strategy, exclude_member_items=args.exclude_member_items,
            filter=parse_params(args.filter), exclude=args.exclude, diversity=args.diversity,
            diversity_by=args.diversity_by)
    _print_ranking(ranking, args.json)
    return 0


def _similar(args: argparse.Namespace) -> int:
    with runner(args) as db:
        ranking = _recommender(db, args).similar_items(args.id, args.k, by=args.by, filter=parse_params(args.filter))
    _print_ranking(ranking, args.json)
    return 0


def _recommender(db: QueryRunner, args: argparse.Namespace) -> Recommender:
    from graphrec.recommend import EXACT, Recommender

    return Recommender(db, exact_max_items=EXACT) if args.exact else Recommender(db)


def _print_ranking(ranking: Ranking, as_json: bool) -> None:
    print(json.dumps(asdict(ranking), indent=2) if as_json else format_ranking(ranking))


def format_ranking(ranking: Ranking) -> str:
    """A ranking as a title line and a table (member scores as user:score for groups)."""
    what = {"user": "for user", "group": "for group", "item": "similar to item"}[ranking.kind]
    how = f"strategy {ranking.strategy}, " if ranking.strategy else ""
    title = (f"top {len(ranking.items)} {what} {ranking.id} ({how}basis {ranking.basis}, model v{ranking.version}"
             + (f" {ranking.model_kind})" if ranking.model_kind else ")"))
    rows = []
    for item in ranking.items:
        row = {"rank": item["rank"], "item": item["id"], "score": round(item["score"], 4)}
        if "members" in item:
            row["members (user:score)"] = " ".join(f"{m['user']}:{m['score']:.3f}" for m in item["members"])
        row |= {key: value for key, value in item["properties"].items()}
        rows.append(row)
    return title + "\n" + format_table(rows)


def _explain(args: argparse.Namespace) -> int:
    from graphrec.recommend import Recommender

    with runner(args) as db:
        why = Recommender(db).explain(args.item, n=args.n, **{args.kind: args.id})
    if args.json:
        print(json.dumps(why, indent=2))
        return 0
    print(format_explanation(why, args.kind, args.id))
    return 0


def format_explanation(why: dict[str, Any], kind: str, subject: int) -> str:
    """`Recommender.explain`'s answer for `kind` ('user' or 'group') `subject`, as lines of text."""
    lines = [f"item {why['item']} for {kind} {subject} (model v{why['version']})"
             + (" - already interacted with" if why["interacted"] else "")]
    if kind == "user":
        lines.append(f"score: {_number(why['score'])}")
    else:
        lines.append(f"group's own score: {_number(why['group_score'])}")
        lines.append("members, most in favour first: "
                     + ", ".join(f"{m['user']} ({_number(m['score'])})" for m in why["members"]))
    whose = "their" if kind == "user" else f"member {why['members'][0]['user']}'s"
    for reason in why["because"]:
        lines.append(f"  like {whose} item {reason['item']} ({reason['basis']} {reason['value']:.3f}; "
                     f"{reason['co_users']} other users have both)")
    if why["steps"]:
        lines.append("path: " + " - ".join(f"{step['label']} {step['id']}" for step in why["steps"]))
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a (no vector)" if value is None else f"{value:.4f}"
