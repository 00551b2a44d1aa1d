"""The house keeps its shape: the layering contract of pyproject.toml holds, and loading and serving never
import torch."""

from __future__ import annotations

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
