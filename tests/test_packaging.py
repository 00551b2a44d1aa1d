"""A built wheel installed into a fresh virtual environment works from any folder.

The wheel is built from a copy of this checkout without build isolation (the setuptools of the test environment) and
installed without its dependencies; the fresh environment borrows them from the test environment through a
`.pth` line (a path, so the test environment's own editable graphrec is not activated). What is checked is
what a wheel can get wrong: the package data (`cypher/`, the demo configs, the Browser guide and style)
inside the installed package, and the `graphrec` command running one query against the test server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from graphrec.db.connection import Connection
from graphrec.db.cypher import CYPHER_DIR
from graphrec.db.runner import QueryRunner

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    source = out / "source"  # a copy, so that the build leaves no build/ or egg-info in the checkout
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(out), str(source)], check=True, capture_output=True, text=True)
    (built,) = out.glob("graphrec-*.whl")
    return built


def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    cypher = {f"graphrec/cypher/{path.name}" for path in CYPHER_DIR.glob("*.cypher")}
    assert cypher and cypher <= names
    assert {"graphrec/configs/demo.toml", "graphrec/configs/groups.toml", "graphrec/db/server/pom.xml",
            "graphrec/db/server/apoc-pom.xml", "graphrec/browser/guide.html", "graphrec/browser/graphrec.grass"} <= names
    assert not [name for name in names if name.startswith("graphrec/configs/") and name.endswith(".py")]


@pytest.mark.neo4j
def test_an_installed_wheel_runs_a_query_from_another_folder(wheel: Path, tmp_path: Path, connection: Connection,
                                                             runner: QueryRunner) -> None:
    runner.run("CREATE (:User {id: 1}), (:Item {id: 2})")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    str(wheel)], check=True, capture_output=True, text=True)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "graphrec-test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run(
        [python, "-c", "import graphrec.cli as c, graphrec.db.cypher as f; "
                       "print(f.CYPHER_DIR); print(c.DEMO_CONFIG.read_text().startswith('#'))"],
        cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert Path(where[0]).is_relative_to(site) and where[1] == "True"
    summary = subprocess.run(
        [env_dir / "bin" / "graphrec", "cypher", "graph_summary", "--json", "--uri", connection.uri,
         "--user", connection.user, "--password", connection.password],
        cwd=tmp_path, check=True, capture_output=True, text=True)
    assert [(row['users'], row['items']) for row in json.loads(summary.stdout)] == [(1, 1)]
