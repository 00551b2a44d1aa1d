"""The project's Cypher statements, read from the `.cypher` files under `cypher/`.

Every file has the same form, so that its text runs unchanged from Python, in `cypher-shell` and pasted
whole into Neo4j Browser (`check_header` enforces it; tests/test_cypher_files.py checks every file):

    // What the statement does and returns, and its parameters (any number of `//` lines).
    :param user => 1;
    :param filter => ({});
    MATCH ... the statement(s), separated by `;`

- The header: `//` comment lines first, then one `:param NAME => VALUE;` line per parameter `$NAME` that the
  statements use (no other), each ending in `;`. VALUE is a Cypher expression that Browser sends to the server
  (`RETURN VALUE`), so integers stay integers; a map is written in parentheses, `({})`, since Browser reads
  `=> {...}` as a query to run. A file without parameters has no `:param` line.
- Then the statements; no `:` line among them, but for `:auto` alone on the line before a statement that runs
  `CALL {...} IN TRANSACTIONS` (Browser runs it in an auto-commit transaction then, as graphrec always does).
- Defaults are small examples; in the files that write, they touch nothing graphrec made (empty `rows`, an
  index name and a model version of their own), so that pasting a file into a real database is safe.

Pasted whole into Browser (its multi-statement mode, on by default), the `:param` lines set the parameters and
then the statements run, in order, stopping at the first error. Browser 5.24 shows such a run as a list with
each statement's status, never its rows (CypherScriptFrame); the parameters stay set, so the statement alone,
run next, shows its rows or graph (graphrec's Browser guide, `graphrec.db.server.browser`, shows files as these
two steps). From Python and `graphrec cypher`, `//` lines and lines starting with `:` are dropped, the rest is
split on `;` and the values travel as parameters.

Drawing: `recommend_user` and `recommend_group` take `$draw` (false from Python, true in their headers). With
it, their column `graph` holds what Browser draws for each row: APOC virtual nodes (the nodes' properties
without vectors) and relationships, among them `RECOMMENDED {rank, score}`; without it `graph` is null and
nothing else of the query changes.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

CYPHER_DIR = (Path(__file__).parent.parent / "cypher").resolve()
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


def browser_params(name: str) -> list[str]:
    """The `:param` lines of `cypher/<name>.cypher`, in order."""
    return [line.strip() for line in cypher_path(name).read_text(encoding="utf-8").splitlines()
            if line.startswith(":param")]


_PARAM_LINE = re.compile(r":param (\w+) => (.+);")
_STRING_OR_NAME = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`")


def check_header(path: Path) -> list[str]:
    """What breaks the file form above in the `.cypher` file `path`, as messages naming the line (empty: none)."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    problems: list[str] = []
    if not lines or not lines[0].startswith("//"):
        problems.append(f"{path}:1: a file starts with its `//` header comment")
    declared: dict[str, int] = {}
    part = "comments"
    for number, line in enumerate(lines, 1):
        where = f"{path}:{number}"
        if line.startswith("//") and part == "comments":
            continue
        if line.rstrip() == ":auto" and part != "statements":
            part = "statements"
        elif line.startswith(":"):
            found = _PARAM_LINE.fullmatch(line.rstrip())
            if part == "statements":
                problems.append(f"{where}: a `:` line after the statements began")
            elif found is None:
                problems.append(f"{where}: not of the form `:param NAME => VALUE;`")
            elif found.group(2).startswith("{"):
                problems.append(f"{where}: a map value must be in parentheses, `({found.group(2)})`")
            elif found.group(1) in declared:
                problems.append(f"{where}: ${found.group(1)} is set twice")
            else:
                declared[found.group(1)] = number
                part = "params"
        elif line.strip():
            part = "statements"
    used = set(re.findall(r"\$(\w+)", _STRING_OR_NAME.sub("", ";".join(split_statements(text)))))
    problems += [f"{path}: ${param} is used but has no `:param {param} => ...;` line" for param in sorted(used - set(declared))]
    problems += [f"{path}:{declared[param]}: ${param} is set but not used" for param in sorted(set(declared) - used)]
    return problems


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
