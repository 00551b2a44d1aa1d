"""The project's Cypher statements, read from the `.cypher` files under `cypher/`.

A `.cypher` file may hold several statements separated by `;`. Lines that start with `//` are comments and
lines that start with `:` (`:param k => 20`) are Neo4j Browser commands; both are dropped before a statement
is sent through the driver, so the same file runs unchanged in Browser, in `cypher-shell` and from Python.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

CYPHER_DIR = (Path(__file__).parent / "cypher").resolve()
"""`cypher/`: in a checkout the repository's folder (`graphrec/cypher` links to it), in a wheel the package's copy."""


def cypher_path(name: str) -> Path:
    """The path of `cypher/<name>.cypher` (`name` with or without the suffix)."""
    path = CYPHER_DIR / (name if name.endswith(".cypher") else f"{name}.cypher")
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CYPHER_DIR.glob("*.cypher")))
        raise FileNotFoundError(f"no Cypher file {path} (known: {known})")
    return path


@cache
def statements(name: str) -> tuple[str, ...]:
    """The statements of `cypher/<name>.cypher`, in order, comments and Browser commands removed."""
    return split_statements(cypher_path(name).read_text(encoding="utf-8"))


def statement(name: str) -> str:
    """The single statement of `cypher/<name>.cypher`; an error if the file holds more than one."""
    found = statements(name)
    if len(found) != 1:
        raise ValueError(f"{cypher_path(name)} holds {len(found)} statements, expected exactly one")
    return found[0]


def split_statements(text: str) -> tuple[str, ...]:
    """Split Cypher text on `;` outside string literals, backtick names and comments.

    Whole-line `//` comments and `:`-commands are dropped; empty statements are skipped.
    """
    kept = "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith(("//", ":"))
    )
    found: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(kept):
        ch = kept[i]
        if quote:
            current.append(ch)
            if ch == "\\" and quote != "`" and i + 1 < len(kept):
                current.append(kept[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"`":
            quote = ch
            current.append(ch)
        elif ch == "/" and kept.startswith("//", i):
            end = kept.find("\n", i)
            i = len(kept) if end < 0 else end
            continue
        elif ch == ";":
            found.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    found.append("".join(current).strip())
    return tuple(s for s in found if s)
