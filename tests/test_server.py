"""The local server: idempotent start, Browser served, data kept across a restart, failures explained."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from graphrec.db.runner import QueryRunner
from graphrec.db.server import install, lifecycle
from graphrec.db.server.install import ServerError
from graphrec.db.server.lifecycle import LocalServer, free_port

pytestmark = pytest.mark.neo4j


def test_start_on_a_running_server_is_a_no_op(server: LocalServer) -> None:
    before = server.status()
    assert before.running and before.pid is not None
    assert server.start() == before


def test_browser_is_served(server: LocalServer) -> None:
    with urllib.request.urlopen(server.browser_url, timeout=10) as response:
        assert response.status == 200
        assert "<title>Neo4j Browser</title>" in response.read().decode()


def test_password_file_is_private(server: LocalServer) -> None:
    assert server.password_file.stat().st_mode & 0o077 == 0


def test_data_survives_a_restart(server: LocalServer, runner: QueryRunner) -> None:
    runner.run("CREATE (:Item {id: 424242, title: 'kept'})")
    assert server.stop()
    assert not server.status().running
    server.start()
    assert runner.run("MATCH (i:Item {id: 424242}) RETURN i.title AS t") == [{"t": "kept"}]


def test_a_taken_port_is_refused_before_starting(server: LocalServer, tmp_path: Path) -> None:
    clash = LocalServer(tmp_path / "clash", bolt_port=server.bolt_port, http_port=server.http_port)
    with pytest.raises(ServerError, match=f"port {server.bolt_port} on 127.0.0.1 is already in use"):
        clash.start()


def test_a_failed_start_shows_the_log_tail(server: LocalServer, tmp_path: Path) -> None:
    broken = LocalServer(tmp_path / "broken", bolt_port=free_port(), http_port=free_port(),
                         heap="1x", pagecache="64m")
    with pytest.raises(ServerError, match=r"(?s)exited with code \d+ while starting.*console.log.*heap size"):
        broken.start(timeout=120)
    assert not broken.status().running


def test_the_first_clean_stop_records_a_class_archive_that_later_starts_map(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "cache" / "server-test.jsa"
    archive.parent.mkdir()
    monkeypatch.setattr(lifecycle, "class_archive", lambda java, kind: archive)
    home = LocalServer(tmp_path / "home", bolt_port=free_port(), http_port=free_port())
    try:
        home.start()
        assert not archive.exists() and "-XX:ArchiveClassesAtExit=" in _command_line(home)
        home.stop()
        assert archive.stat().st_size > 10_000_000  # thousands of classes
        assert list(archive.parent.iterdir()) == [archive]  # the recording was renamed, not copied
        home.start()
        assert f"-XX:SharedArchiveFile={archive}" in _command_line(home)
        assert str(archive) in Path(f"/proc/{home.status().pid}/maps").read_text()  # mapped, not refused
    finally:
        home.stop()


def test_a_recording_cut_short_is_not_kept(tmp_path: Path) -> None:
    archive = tmp_path / "server.jsa"
    flags, recording = install.class_sharing_flags(archive)
    assert recording is not None and f"-XX:ArchiveClassesAtExit={recording}" in flags
    recording.write_bytes(b"partial")
    install.keep_class_archive(recording, archive, exited_cleanly=False)
    assert list(tmp_path.iterdir()) == []
    archive.write_bytes(b"archive")
    flags, recording = install.class_sharing_flags(archive)
    assert recording is None and f"-XX:SharedArchiveFile={archive}" in flags


def _command_line(server: LocalServer) -> str:
    return Path(f"/proc/{server.status().pid}/cmdline").read_bytes().decode().replace("\0", " ")
