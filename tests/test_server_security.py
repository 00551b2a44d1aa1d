"""Secrets on the local server: no password on any command line or in any log, a home for its owner only."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import LocalServer, free_port

pytestmark = pytest.mark.neo4j

# Spaces, quotes, a backslash, a comment sign, a leading dash and letters beyond ASCII: all must arrive intact.
PASSWORD = "-a \"quoted\" 'pass' \\ #not-a-comment ünïcødé"


def loose_paths(home: Path) -> list[str]:
    """Every path under `home` (itself included) that its group or others may read, write or enter."""
    found = []
    for folder, subfolders, names in os.walk(home):
        for path in [Path(folder), *(Path(folder) / name for name in subfolders + names)]:
            if not path.is_symlink() and path.stat().st_mode & 0o077:
                found.append(f"{oct(stat.S_IMODE(path.stat().st_mode))} {path}")
    return found


def test_a_new_home_keeps_its_password_off_command_lines_and_logs_and_is_private(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command_lines: list[str] = []
    real_popen = subprocess.Popen

    def recording_popen(args: Any, *rest: Any, **options: Any) -> subprocess.Popen[Any]:
        command_lines.append(" ".join(map(str, args)))
        return real_popen(args, *rest, **options)

    monkeypatch.setattr(subprocess, "Popen", recording_popen)
    home = LocalServer(tmp_path / "home", bolt_port=free_port(), http_port=free_port(), heap="512m", pagecache="64m")
    try:
        home.start(password=PASSWORD)
        with QueryRunner(home.connection()) as runner:
            assert runner.run("RETURN 1 AS n") == [{"n": 1}]  # the password arrived intact
        assert home.password() == PASSWORD
        assert any("set-initial-password @" in line for line in command_lines)
        assert any("CommunityEntryPoint" in line for line in command_lines)
        assert not [line for line in command_lines if "ünïcødé" in line or "quoted" in line]
        assert not list(home.home.glob("admin-arguments-*"))  # the argument file is gone
        assert loose_paths(home.home) == []
        auth = home.home / "data" / "dbms" / "auth.ini"
        assert stat.S_IMODE(auth.stat().st_mode) == 0o600 and "ünïcødé" not in auth.read_text()
        assert stat.S_IMODE(home.home.stat().st_mode) == 0o700
        logged = [path for path in (home.home / "logs").rglob("*") if path.is_file()
                  and "ünïcødé" in path.read_text(errors="replace")]
        assert logged == []

        home.stop()  # a home whose permissions were loosened meanwhile is made private again on start
        (home.home / "logs").chmod(0o755)
        (home.home / "password").chmod(0o644)
        home.start()
        assert loose_paths(home.home) == []
    finally:
        home.stop()


def test_the_session_server_home_is_private(server: LocalServer) -> None:
    assert loose_paths(server.home) == []
