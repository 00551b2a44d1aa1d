"""The Python API: `graphrec.connect()` and the handle it returns, for notebooks and training scripts.

    import graphrec

    with graphrec.connect() as gr:                 # arguments, then NEO4J_*, then `graphrec neo4j start`'s server
        gr.load(interactions="interactions.csv")   # graphrec.load
        report, models = gr.write_back("demo", run_dir="runs/demo")   # export, fit, evaluate, write back
        print(gr.recommend_user(1, 5).ids)         # graphrec.recommend

Each method is a thin layer over the conductor (`graphrec.conductor`) or the room below it: the same
arguments with the same defaults, and it returns what that returns. `load`, `recommend_user`,
`recommend_group`, `similar` and `explain` never import torch; `export`, `fit`, `evaluate` and `write_back`
import it when they run.

A run configuration is a `RunConfig`, the path of a TOML file, or the name of a packaged one
(`graphrec/configs/NAME.toml`: "demo", "gowalla-itemknn", "groups-popularity", ...): a string without a path
separator and without the `.toml` suffix is a name; see `run_config`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.db.connection import Connection
from graphrec.db.resolve import resolve_connection
from graphrec.db.runner import QueryRunner
from graphrec.errors import ConfigError
from graphrec.load import load_csv, load_group_benchmark, load_lightgcn
from graphrec.recommend import Ranking, Recommender

if TYPE_CHECKING:
    from graphrec.db.server.lifecycle import LocalServer
    from graphrec.evaluation.report import Report
    from graphrec.export import Snapshot
    from graphrec.load.csv_tables import TableSource
    from graphrec.model.base import Fitted
    from graphrec.runconfig import RunConfig

__all__ = ["CONFIGS", "FORMATS", "GraphRec", "connect", "packaged_configs", "run_config"]

CONFIGS = Path(__file__).resolve().parent / "configs"
"""The packaged run configurations (package data)."""

FORMATS = ("csv", "lightgcn", "groups")
"""What `GraphRec.load` reads, named as `graphrec load` names them: CSV tables or DataFrames
(`graphrec.load.load_csv`), a LightGCN folder (`load_lightgcn`), a group-benchmark folder
(`load_group_benchmark`)."""


def connect(uri: str | None = None, user: str | None = None, password: str | None = None,
            database: str | None = None) -> GraphRec:
    """A `GraphRec` on the Neo4j server the settings name, found as the CLI finds it
    (`graphrec.db.resolve.resolve_connection`): each setting from the argument, else `NEO4J_URI`, `NEO4J_USER`,
    `NEO4J_PASSWORD`, `NEO4J_DATABASE`, else the local server of `graphrec neo4j start` (user and database
    default to `neo4j`). Never starts a server and sends nothing yet (`gr.runner.verify()` checks the server
    and the credentials); raises `graphrec.errors.ConfigError` when no server is configured."""
    return GraphRec(resolve_connection(uri, user, password, database))


def packaged_configs() -> list[str]:
    """The names of the packaged run configurations, sorted."""
    return sorted(path.stem for path in CONFIGS.glob("*.toml"))


def run_config(config: str | os.PathLike[str] | RunConfig, *, train: dict[str, Any] | None = None,
               evaluate: dict[str, Any] | None = None) -> RunConfig:
    """`config` as a `RunConfig` (`graphrec.runconfig.read_config`, whose `train` / `evaluate` override keys of
    those tables): a `RunConfig` as it is (no overrides then), a path, or the name of a packaged configuration
    (a string without a path separator and without `.toml`: `graphrec/configs/NAME.toml`)."""
    from graphrec.runconfig import RunConfig, read_config

    if isinstance(config, RunConfig):
        if train or evaluate:
            raise ValueError("overrides (train=, evaluate=) are read with a configuration's file or name")
        return config
    if isinstance(config, str) and not config.endswith(".toml") and not any(
            sep in config for sep in (os.sep, os.altsep) if sep):
        if config not in packaged_configs():
            raise ConfigError(f"no packaged run configuration {config!r} (packaged: "
                              f"{', '.join(packaged_configs())}); give a path to read a file")
        config = CONFIGS / f"{config}.toml"
    return read_config(Path(config), train=train, evaluate=evaluate)


class GraphRec:
    """One connection to Neo4j and graphrec's stages over it: load, export, fit, evaluate, write back, serve.

    Made by `graphrec.connect()`. Close it with `close()` or use it as a context manager.

    Attributes:
        connection (Connection): where and as whom (prints without its password).
        runner (QueryRunner): the port every query goes through (for the rooms not wrapped here, e.g.
            `graphrec.writeback.list_models(gr.runner)`).
        recommender (Recommender): serves the `recommend_*`, `similar` and `explain` calls, with its defaults.
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.runner = QueryRunner(connection)
        self.recommender = Recommender(self.runner)

    def __enter__(self) -> GraphRec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the driver)."""
        self.runner.close()

    def __repr__(self) -> str:
        return f"GraphRec({self.connection!r})"

    # ------------------------------------------------------------------------------------------------ data

    def load(self, format: str = "csv", directory: str | os.PathLike[str] | None = None, *,
             users: TableSource | None = None, items: TableSource | None = None,
             groups: TableSource | None = None, memberships: TableSource | None = None,
             interactions: TableSource | None = None, group_interactions: TableSource | None = None,
             bulk: bool = False, server: LocalServer | None = None, **write_options: object) -> dict[str, int]:
        """Load data (validated first, nothing written unless all of it is valid; idempotent) and return the
        rows written per table.

        `format` (one of `FORMATS`): 'csv' (default): the tables by name, each a CSV path or a DataFrame
        (`graphrec.load.load_csv`; columns in `graphrec.load.csv_tables`); 'lightgcn': the folder `directory`
        (`load_lightgcn`); 'groups': the group-benchmark folder `directory` (`load_group_benchmark`).
        `bulk`, `server` and `write_options` (`batch_size`, `workers`, `progress`) as for
        `graphrec.load.store`.
        """
        tables = {"users": users, "items": items, "groups": groups, "memberships": memberships,
                  "interactions": interactions, "group_interactions": group_interactions}
        if format == "csv":
            if directory is not None:
                raise ValueError("load('csv') takes its tables by name (users=..., interactions=...), not a folder")
            return load_csv(self.runner, **tables, bulk=bulk, server=server, **write_options)
        loaders = {"lightgcn": load_lightgcn, "groups": load_group_benchmark}
        if format not in loaders:
            raise ValueError(f"unknown format {format!r}; one of {', '.join(FORMATS)}")
        if directory is None or any(table is not None for table in tables.values()):
            raise ValueError(f"load({format!r}, DIRECTORY) reads the folder's files; tables by name are for 'csv'")
        return loaders[format](self.runner, directory, bulk=bulk, server=server, **write_options)

    def export(self, *, since: int | None = None, users: Sequence[int] | None = None,
               groups: Sequence[int] | None = None, hops: int = 0, min_interactions: int = 0,
               batch_size: int = 10_000, sessions: int = 1) -> Snapshot:
        """The graph (or the subgraph the filters select) as a `graphrec.export.Snapshot` of index tensors
        (`graphrec.export.export_snapshot`; `snapshot.save(folder)` keeps it), read in `sessions` parallel read
        sessions by id range. Imports torch."""
        from graphrec.export import export_snapshot

        return export_snapshot(self.runner, since=since, users=users, groups=groups, hops=hops,
                               min_interactions=min_interactions, batch_size=batch_size, sessions=sessions)

    # ------------------------------------------------------------------------------------- the conductor

    def fit(self, config: str | os.PathLike[str] | RunConfig, *, run_dir: str | os.PathLike[str],
            snapshot: Snapshot | None = None, progress: bool = True, resume: bool = False) -> Fitted:
        """Fit `config`'s model as the conductor does (its stage 2) and return it, a `graphrec.model.base.Fitted`
        (`.stored()`: what a write-back stores; `.record`: the fit's record, e.g. `best_epoch`).

        The interactions are `graphrec.conductor.training_data(snapshot, config, variant)` with the
        configuration's `[evaluate] variant`; the fit's files go to `run_dir/<config name>`. Without
        `snapshot`, the graph is exported first with the configuration's `[export]`. Nothing is evaluated or
        written. A configuration with `[text]` is refused: the conductor chooses and adds its text part only
        within `evaluate` / `write_back`. Imports torch.
        """
        from graphrec.conductor import training_data
        from graphrec.export import export_snapshot

        config = run_config(config)
        if config.text is not None:
            raise ConfigError(f"{config.path or config.name}: a configuration with [text] is fitted by evaluate() "
                              "or write_back(), which choose and add its text part")
        if snapshot is None:
            snapshot = export_snapshot(self.runner, **config.export)
        data = training_data(snapshot, config, config.evaluate.variant)
        return config.model.fit(data, config.train, Path(run_dir) / config.name, progress=progress, resume=resume)

    def evaluate(self, *configs: str | os.PathLike[str] | RunConfig, run_dir: str | os.PathLike[str],
                 snapshot: Snapshot | None = None, progress: bool = True,
                 resume: bool = False) -> tuple[Report, dict[str, Fitted]]:
        """Export (unless `snapshot` is given), fit and evaluate `configs` side by side
        (`graphrec.conductor.conduct`, nothing written back; the first configuration's `[export]` and
        `[evaluate]` apply to all) and return the `graphrec.evaluation.report.Report` (`report.row(name)`: a
        model's metrics) and the fitted models by name. The report files go to `run_dir`. Imports torch."""
        from graphrec.conductor import conduct

        return conduct(self.runner, [run_config(config) for config in configs], run_dir, snapshot=snapshot,
                       progress=progress, resume=resume)

    def write_back(self, *configs: str | os.PathLike[str] | RunConfig, run_dir: str | os.PathLike[str],
                   snapshot: Snapshot | None = None, progress: bool = True,
                   resume: bool = False) -> tuple[Report, dict[str, Fitted]]:
        """What `graphrec train` does: `evaluate`, then write each model back as a new version and activate it
        (`graphrec.conductor.conduct(..., write_back=True)`; the last one written is the one served). Returns
        the report, whose row of each model carries its `version`, and the fitted models by name. Imports
        torch."""
        from graphrec.conductor import conduct

        return conduct(self.runner, [run_config(config) for config in configs], run_dir, write_back=True,
                       snapshot=snapshot, progress=progress, resume=resume)

    # ------------------------------------------------------------------------------------------- serving

    def recommend_user(self, user: int, k: int = 10, *, filter: Mapping[str, Any] | None = None,
                       exclude: Iterable[int] = (), diversity: float | None = None,
                       diversity_by: str = "graph") -> Ranking:
        """The top-k items for `user` from the active model, as a `graphrec.recommend.Ranking` (`.ids`,
        `.items`: rank, id, score, properties); `Recommender.recommend_user`."""
        return self.recommender.recommend_user(user, k, filter=filter, exclude=exclude, diversity=diversity,
                                               diversity_by=diversity_by)

    def recommend_group(self, group: int, k: int = 10, *, strategy: str = "combined",
                        exclude_member_items: bool = False, filter: Mapping[str, Any] | None = None,
                        exclude: Iterable[int] = (), diversity: float | None = None,
                        diversity_by: str = "graph") -> Ranking:
        """The top-k items for `group` by `strategy` (`graphrec.recommend.STRATEGIES`), as a `Ranking` whose
        items also carry each member's score; `Recommender.recommend_group`."""
        return self.recommender.recommend_group(group, k, strategy=strategy,
                                                exclude_member_items=exclude_member_items, filter=filter,
                                                exclude=exclude, diversity=diversity, diversity_by=diversity_by)

    def similar(self, item: int, k: int = 10, *, by: str = "graph",
                filter: Mapping[str, Any] | None = None) -> Ranking:
        """The k items most similar to `item` (by 'graph', 'text' or 'both'), as a `Ranking`;
        `Recommender.similar_items`."""
        return self.recommender.similar_items(item, k, by=by, filter=filter)

    def explain(self, item: int, *, user: int | None = None, group: int | None = None,
                n: int = 3) -> dict[str, Any]:
        """Why `item` suits `user` or `group` (exactly one), as a dict: the score(s), `because` (the `n` own
        items that speak most for it), for a group each member's score, the model `kind`, the path `steps`;
        `Recommender.explain`."""
        return self.recommender.explain(item, user=user, group=group, n=n)
