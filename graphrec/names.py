"""The names graphrec gives what it writes into the graph, and the property names it owns.

One rule for every room: loading refuses an input column that graphrec owns (`is_reserved_property`),
serving refuses such a filter key, forgetting a user removes every property with a reserved prefix, and
write-back names version N's parts:

=============================  =====================================  =========================================
part of version N              name                                   function
=============================  =====================================  =========================================
vectors of users/items/groups  node property ``~embedding_vN``        :func:`property_name`
items, augmented for MIPS      item property ``~embedding_vN_mips``   :func:`mips_property_name`
fold vectors (graph filters)   item property ``~embedding_vN_fold``   :func:`fold_property_name`
text vectors                   item property ``~embedding_vN_text``   :func:`text_property_name`
item–item weights              relationship ``SIMILAR_vN``            :func:`similar_type`
cosine index on item vectors   ``item_embedding_vN_cosine``           :func:`similarity_index_name`
cosine index on text vectors   ``item_embedding_vN_text``             :func:`text_index_name`
=============================  =====================================  =========================================

The augmented item vectors have no index: serving reads them directly (earlier versions also built
``item_embedding_vN_mips`` on them, which no query used; see :func:`legacy_mips_index_name`).

A property name or relationship type cannot be a Cypher parameter in DDL or in a `SET`, so the few statements
that must put one into their text take it from here and check it with :func:`safe_property` /
:func:`safe_type`: only generated names ever reach Cypher text. This module imports nothing of graphrec's.
"""

from __future__ import annotations

import re

LABELS: dict[str, str] = {"user": "User", "item": "Item", "group": "Group"}
"""The kinds of nodes graphrec knows, and the node label of each (the allow-list of labels)."""

EMBEDDING_PREFIX = "~embedding_v"
"""Version N's vectors are the node property `~embedding_vN` (items also `~embedding_vN_mips`, `~embedding_vN_fold`
and `~embedding_vN_text`). The leading `~` sorts them after every readable property in Neo4j Browser's node
inspector (it lists properties by name, and `~` comes after the letters), so `id` and `title` stay in sight;
Cypher reads them with backticks: ``i.`~embedding_v1` ``."""

RESERVED_PROPERTIES = frozenset({"id"})
"""Node properties graphrec owns: the node key."""

RESERVED_PROPERTY_PREFIXES: tuple[str, ...] = (EMBEDDING_PREFIX,)
"""Prefixes of the node properties that models write back; one line per new kind of written-back property."""

_GENERATED_NAME = re.compile(re.escape(EMBEDDING_PREFIX) + r"[1-9][0-9]*(_mips|_fold|_text)?")
_SIMILAR_TYPE = re.compile(r"SIMILAR_v[1-9][0-9]*")


def is_reserved_property(name: str) -> bool:
    """Whether `name` is a node property graphrec writes itself (`RESERVED_PROPERTIES`, or a name starting with
    one of `RESERVED_PROPERTY_PREFIXES`), which no loaded file may set."""
    return name in RESERVED_PROPERTIES or name.startswith(RESERVED_PROPERTY_PREFIXES)


def label(kind: str) -> str:
    """The node label of `kind` ('user', 'item', 'group'); a `ValueError` for any other."""
    if kind not in LABELS:
        raise ValueError(f"unknown node kind {kind!r}; expected one of {sorted(LABELS)}")
    return LABELS[kind]


def checked_version(version: int) -> int:
    """`version`, checked: model versions are positive integers (a `ValueError` otherwise)."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"a model version is a positive integer, not {version!r}")
    return version


def property_name(version: int) -> str:
    """The node property holding version `version`'s vectors: `~embedding_v<version>`."""
    return f"{EMBEDDING_PREFIX}{checked_version(version)}"


def mips_property_name(version: int) -> str:
    """The item property holding version `version`'s augmented vectors: `~embedding_v<version>_mips`."""
    return property_name(version) + "_mips"


def fold_property_name(version: int) -> str:
    """The item property holding version `version`'s fold vectors: `~embedding_v<version>_fold`."""
    return property_name(version) + "_fold"


def text_property_name(version: int) -> str:
    """The item property holding version `version`'s text vectors: `~embedding_v<version>_text`."""
    return property_name(version) + "_text"


def similar_type(version: int) -> str:
    """The relationship type of version `version`'s item–item weights: `SIMILAR_v<version>`."""
    return f"SIMILAR_v{checked_version(version)}"


def legacy_mips_index_name(version: int) -> str:
    """The vector index `item_embedding_v<version>_mips` that earlier write-backs built on the augmented item
    vectors. No query ever used it (serving reads `~embedding_vN_mips` directly, or ranks with
    `graphrec.topItems`), so write-back no longer builds it; it is named only so that removing a version
    written before drops it too (:func:`index_names`)."""
    return f"item_embedding_v{checked_version(version)}_mips"


def similarity_index_name(version: int) -> str:
    """The cosine vector index on version `version`'s item vectors: `item_embedding_v<version>_cosine`."""
    return f"item_embedding_v{checked_version(version)}_cosine"


def text_index_name(version: int) -> str:
    """The cosine vector index on version `version`'s text vectors: `item_embedding_v<version>_text`."""
    return f"item_embedding_v{checked_version(version)}_text"


def index_names(version: int) -> tuple[str, str, str]:
    """Every item vector index a version may have, as removing it drops them: the cosine one, the text one,
    and the MIPS one of a version written before write-back stopped building it."""
    return similarity_index_name(version), text_index_name(version), legacy_mips_index_name(version)


def safe_property(name: str) -> str:
    """`name` when it is one of the generated property names (the only ones ever put into Cypher text)."""
    if not _GENERATED_NAME.fullmatch(name):
        raise ValueError(f"not a generated embedding property name: {name!r}")
    return name


def safe_type(name: str) -> str:
    """`name` when it is a generated relationship type (`SIMILAR_v<N>`)."""
    if not _SIMILAR_TYPE.fullmatch(name):
        raise ValueError(f"not a generated relationship type: {name!r}")
    return name
