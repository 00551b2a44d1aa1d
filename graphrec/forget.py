"""Forget a user: their node, interactions, memberships and vectors leave the database, and the models
that learned from them are named.

`forget_user` deletes the User node and everything attached to it in one transaction
(`cypher/forget_user.cypher`): the interactions, the memberships and every property, which includes the
user's vectors in every model version (`~embedding_v<N>`: vectors are node properties). What a model learned
from the user cannot be deleted that way: it is spread over other nodes' vectors and whatever else a version
stores. Every Model version created before the forget is treated as carrying it, and the report says what kind
of stored data each version has (`STORED_DATA`), so that it can be recomputed or retrained without the user
and the old versions pruned. Files outside the database (training run folders with their checkpoints,
exported snapshots) are not touched; the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.names import RESERVED_PROPERTY_PREFIXES
from graphrec.writeback.versions import list_models

STORED_DATA: dict[str, str] = {
    "items": "item vectors",
    "groups": "group vectors",
    "users": "other users' vectors",
    "neighbours": "item–item weights",
}
"""The Model property counting each kind of data a version stores, and its name in reports; one line per new
kind a model writes back (e.g. item-item weights)."""


class ForgetError(LookupError):
    """There is nothing to forget (no such user)."""


@dataclass(frozen=True)
class Forgotten:
    """What `forget_user` deleted, and the model versions that still carry what was learned from the user.

    Attributes:
        user: the user's id.
        interactions, memberships: how many were deleted.
        groups: the groups the user was a member of.
        vectors: the vector properties the user's node held (one per model version that had a vector for them).
        models: one dict per Model version created before the forget, oldest first: version, status, active,
            stored (the kinds of data it stores, e.g. 'item vectors (100)').
    """

    user: int
    interactions: int
    memberships: int
    groups: list[int] = field(default_factory=list)
    vectors: list[str] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)


def forget_user(runner: QueryRunner, user: int) -> Forgotten:
    """Delete user `user` with their interactions, memberships and vectors; raises `ForgetError` when there is
    no such user (nothing changes then)."""
    models = [{"version": m["version"], "status": m["status"], "active": bool(m.get("active")),
               "stored": stored_data(m)} for m in list_models(runner)]
    rows = runner.run(cypher.statement("forget_user"),
                      {"user": user, "prefixes": list(RESERVED_PROPERTY_PREFIXES)})
    if not rows:
        raise ForgetError(f"no User node has id {user}: nothing to forget (already forgotten?)")
    row = rows[0]
    return Forgotten(user, row["interactions"], row["memberships"], row["groups"], row["vectors"], models)


def stored_data(model: dict[str, Any]) -> list[str]:
    """The kinds of data a Model version stores (`STORED_DATA`), each with its count, e.g. 'item vectors (100)'."""
    return [f"{name} ({model[key]:,})" for key, name in STORED_DATA.items() if model.get(key)]
