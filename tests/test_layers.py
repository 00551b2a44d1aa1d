"""The house keeps its shape: the layering contract of pyproject.toml holds, loading and serving never import
torch, and the command line starts without any heavy library."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_layering_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_loading_and_serving_never_import_torch() -> None:
    code = ("import sys, graphrec.load, graphrec.recommend, graphrec.names, graphrec.db.resolve; "
            "print(sorted(m for m in ('torch', 'torch_geometric') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


HEAVY = ("torch", "torch_geometric", "numpy", "pandas", "scipy", "neo4j", "matplotlib", "tqdm", "pyarrow")
"""What the command line must not load before a command needs it (each costs a start-up of its own)."""


def test_the_command_line_loads_no_heavy_library_before_a_command_needs_it(tmp_path: Path) -> None:
    code = ("import sys, graphrec.cli; loaded = set(sys.modules); "
            "code = graphrec.cli.main(['neo4j', 'status']); "  # a stopped server: no driver either
            f"print(sorted(m for m in {HEAVY!r} if m in loaded)); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); print(code)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**os.environ, "GRAPHREC_NEO4J_HOME": str(tmp_path / "no-home")})
    assert result.stdout.splitlines()[-3:] == ["[]", "[]", "3"], result.stdout + result.stderr
