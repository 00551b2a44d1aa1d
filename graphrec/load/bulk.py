"""A first load into an empty local database with Neo4j's offline importer (`neo4j-admin database import full`).

It builds the same graph as `graphrec.load.writer` (labels, ids, properties, relationships and their
properties, then `cypher/schema.cypher`) without transactions. The target is the local server graphrec
manages (`LocalServer`), in one of two states:

- a new home whose database has never been created (`graphrec neo4j start` not run yet): the import builds it
  and the server then starts for the first time, on the loaded data, so no restart is needed;
- otherwise the server is started if it is stopped (and stopped again if the load is refused), its database
  must hold no node and no index or constraint besides graphrec's own, and it is stopped for the import and
  started again.

In both cases:

1. the dataset, validated before (the readers of `graphrec.load`), is written as CSV files with typed headers
   into a temporary folder under `<home>/import`, so bad input never stops the server;
2. the importer builds the store (see `graphrec.db.server.admin.import_database`: an empty database's files are moved
   aside, never overwritten, and put back if the import fails);
3. the server starts, `cypher/schema.cypher` is applied and its indexes are awaited.

Nothing else may write to the database while it loads: the emptiness check and the stop are not atomic.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner, store_replaced
from graphrec.db.server import admin
from graphrec.db.server.lifecycle import LocalServer
from graphrec.load.dataset import Dataset
from graphrec.load.writer import apply_schema
from graphrec.progress import Stopwatch

# CSV options of the importer; node ids are integers, one id space per label.
IMPORT_OPTIONS = ["--id-type=integer", "--bad-tolerance=0", "--array-delimiter=;"]
# Property values in the importer's types (pandas' inferred kind → CSV header type).
CSV_TYPES = {"integer": "long", "floating": "double", "boolean": "boolean", "string": "string"}
# Importer output lines worth showing: the start and the end of each stage.
PROGRESS_LINE = re.compile(r"^\(\d/\d\) |COMPLETED in|IMPORT DONE|Imported:|^\s+\d+ (nodes|relationships|properties)")


class BulkLoadRefused(RuntimeError):
    """The target of a bulk load is not an empty database of a local server graphrec manages."""


def bulk_write(
    server: LocalServer,
    dataset: Dataset,
    *,
    database: str = "neo4j",
    progress: bool = True,
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """Import `dataset` into the empty `database` of the local `server`; returns the rows written per table.

    The server is running afterwards. See the module's docstring for the two starting states.

    Args:
        server (LocalServer): the local server (running, stopped, or a new home).
        dataset (Dataset): validated input (see `graphrec.load`).
        database (str): the database to build (default: `neo4j`, Community's one database).
        progress (bool): report each step and the importer's stages on stderr (default: True).
        timings (dict, optional): filled with the seconds spent in `check`, `csv`, `stop`, `import`, `start`
            and `schema` (`check` and `stop` only when the database already existed).
    """
    timings = {} if timings is None else timings
    clock = Stopwatch(timings)
    say = (lambda text: print(f"bulk load: {text}", file=sys.stderr, flush=True)) if progress else (lambda _: None)
    was_running = server.status().running
    new_home = not was_running and not server.has_database(database)
    (server.home / "import").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="graphrec-bulk-", dir=server.home / "import") as folder:
        try:
            if not new_home:
                with clock.timed("check"):
                    server.start()
                    with QueryRunner(server.connection(database)) as runner:
                        check_empty(runner)
            with clock.timed("csv"):
                arguments, written = write_import_files(dataset, Path(folder))
        except BaseException:
            if not new_home and not was_running:  # started only to look: leave it stopped, as it was
                server.stop()
            raise
        say(f"wrote {sum(written.values()):,} rows as CSV in {timings['csv']:.1f} s")
        if not new_home:
            say("stopping the server")
            with clock.timed("stop"):
                server.stop()

        def show(line: str) -> None:
            if PROGRESS_LINE.search(line):
                say(f"  {line.strip()}")

        try:
            with clock.timed("import"):
                admin.import_database(server, database, [*arguments, f"--report-file={folder}/import.report"], output=show)
        finally:
            store_replaced(server.bolt_port, database)  # the runners of this process forget the old store's bookmarks
            say("starting the server")
            with clock.timed("start"):
                server.start()
    say(f"imported in {timings['import']:.1f} s, server started in {timings['start']:.1f} s; applying the schema")
    with clock.timed("schema"), QueryRunner(server.connection(database)) as runner:
        apply_schema(runner)
    return written


def check_reaches(runner: QueryRunner, server: LocalServer) -> None:
    """Raise `BulkLoadRefused` unless `runner` connects to `server` (a bulk load only builds its database)."""
    address = urlsplit(runner.connection.uri)
    if address.hostname not in ("127.0.0.1", "localhost") or address.port != server.bolt_port:
        raise BulkLoadRefused(f"a bulk load imports offline into the local server graphrec manages "
                              f"({server.bolt_uri}, home {server.home}); {runner.connection.uri} is not it")


def check_empty(runner: QueryRunner) -> None:
    """Raise `BulkLoadRefused` unless the database of `runner` holds no node and no foreign index."""
    nodes = runner.read(cypher.statement("bulk_target_nodes"))[0]["nodes"]
    if nodes:
        raise BulkLoadRefused(f"database '{runner.database}' holds {nodes:,} nodes: a bulk load only imports into "
                              "an empty database (load without --bulk / bulk=True to add to it)")
    foreign = sorted(set(runner.read(cypher.statement("bulk_target_indexes"))[0]["names"]) - _own_indexes())
    if foreign:
        raise BulkLoadRefused(f"database '{runner.database}' has indexes or constraints that a bulk load would "
                              f"drop: {', '.join(foreign)}; drop them first or load without --bulk / bulk=True")


def write_import_files(dataset: Dataset, folder: Path) -> tuple[list[str], dict[str, int]]:
    """Write the importer's CSV files into `folder`; return the importer's arguments and the rows per table."""
    files: dict[str, tuple[str, pd.DataFrame]] = {
        "users": ("--nodes=User", _nodes("User", dataset.users, dataset.user_ids())),
        "items": ("--nodes=Item", _nodes("Item", dataset.items, dataset.item_ids())),
        "groups": ("--nodes=Group", _nodes("Group", dataset.groups, dataset.group_ids())),
        "memberships": ("--relationships=MEMBER_OF", pd.DataFrame({
            ":START_ID(User)": dataset.memberships["user"], ":END_ID(Group)": dataset.memberships["group"]})),
        "user_interactions": ("--relationships=INTERACTED", _interactions("User", dataset.user_interactions)),
        "group_interactions": ("--relationships=INTERACTED", _interactions("Group", dataset.group_interactions)),
        "user_cases": ("--relationships=HELD_OUT", _cases("User", dataset.user_cases)),
        "group_cases": ("--relationships=HELD_OUT", _cases("Group", dataset.group_cases)),
    }
    arguments = list(IMPORT_OPTIONS)
    for name, (option, frame) in files.items():
        if len(frame):
            path = folder / f"{name}.csv"
            # Arrow's writer is ~8x faster than `DataFrame.to_csv` (1M interactions: 0.17 s against 1.3 s).
            pyarrow.csv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), path,
                                  pyarrow.csv.WriteOptions(quoting_style="needed"))
            arguments.append(f"{option}={path}")
    node_strings = [files[name][1][column] for name in ("users", "items", "groups")
                    for column in files[name][1].columns if column.endswith(":string")]
    if any(values.str.contains("[\r\n]", regex=True).any() for values in node_strings):
        arguments.append("--multiline-fields=true")
    written = {name: len(frame) for name, (_, frame) in files.items()}
    for side in ("user", "group"):  # counted as `write_dataset` counts them: per input table
        written[f"{side}_interactions"] += written.pop(f"{side}_cases")
    return arguments, written


def _nodes(label: str, table: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """One row per id: `id:ID(<label>)` and the table's property columns, typed, absent values empty (a
    column without values is left out; as online, the last row of a repeated id counts)."""
    props = table.drop_duplicates("id", keep="last").set_index("id").astype(object).reindex(ids)
    frame = pd.DataFrame({f"id:ID({label})": ids})
    for name in props.columns:
        values = props[name].where(props[name].notna(), None)
        if values.isna().all():
            continue
        kind = _csv_type(values, label, name)
        if kind.endswith("[]"):
            values = values.map(lambda v: None if v is None else ";".join(map(str, v)))
        frame[f"{name}:{kind}"] = values.to_numpy()
    return frame


def _csv_type(values: pd.Series, label: str, name: str) -> str:
    """The importer's type for a property column (lists become arrays); an error when it mixes types."""
    what = f"{label}.{name}"
    if not re.fullmatch(r"[^:,\"\s]+", name):
        raise ValueError(f"property name '{what}' cannot be bulk-loaded (':', ',', '\"' or spaces); load it "
                         "without --bulk / bulk=True")
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in CSV_TYPES:
        return CSV_TYPES[kind]
    present = values.dropna()
    if present.map(lambda v: isinstance(v, (list, tuple))).all():
        _refuse_empty_lists(present, what)
        elements = present.explode().dropna()
        inner = pd.api.types.infer_dtype(elements, skipna=True)
        if inner in CSV_TYPES and not (inner == "string" and elements.str.contains(";", regex=False).any()):
            return CSV_TYPES[inner] + "[]"
    raise ValueError(f"property '{what}' holds values of mixed or unsupported types ({kind}), which the offline "
                     "importer cannot type; load it without --bulk / bulk=True")


def _interactions(label: str, table: pd.DataFrame) -> pd.DataFrame:
    """`(:<label>)-[:INTERACTED]->(:Item)` rows: weight, and ts when any row has one."""
    frame = pd.DataFrame({f":START_ID({label})": table["source"], ":END_ID(Item)": table["item"],
                          "weight:double": table["weight"]})
    if table["ts"].notna().any():
        frame["ts:long"] = table["ts"]
    return frame


def _cases(label: str, table: pd.DataFrame) -> pd.DataFrame:
    """`(:<label>)-[:HELD_OUT]->(:Item)` rows: split, line, weight, and ts / negatives when any row has them."""
    frame = pd.DataFrame({f":START_ID({label})": table["source"], ":END_ID(Item)": table["item"],
                          "split:string": table["split"], "line:long": table["line"],
                          "weight:double": table["weight"]})
    if table["ts"].notna().any():
        frame["ts:long"] = table["ts"]
    negatives = table["negatives"].dropna()
    if len(negatives):
        _refuse_empty_lists(negatives, f"{label} HELD_OUT.negatives")
        frame["negatives:long[]"] = negatives.map(lambda items: ";".join(map(str, items)))
    return frame


def _refuse_empty_lists(lists: pd.Series, what: str) -> None:
    """The importer reads an empty array field as no property, while an online load stores `[]`."""
    if lists.map(len).eq(0).any():
        raise ValueError(f"'{what}' holds an empty list, which the offline importer cannot store; load it "
                         "without --bulk / bulk=True")


def _own_indexes() -> set[str]:
    """The names of the indexes and constraints that graphrec creates (`schema`, `model_schema`)."""
    text = " ".join(cypher.statements("schema") + cypher.statements("model_schema"))
    return set(re.findall(r"CREATE (?:CONSTRAINT|INDEX) (\w+)", text))
