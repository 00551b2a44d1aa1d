"""Offline operations on a stopped local server's databases, each one `neo4j-admin` run: an offline import
(`graphrec.load.bulk`), a dump and a load (`graphrec.backup`).

Each checks that the server is stopped and writes its configuration first. An import and a load move the
database's current files aside for their run (`_store_aside`): deleted once it succeeded, put back when it fails
or is interrupted, so a failed run never costs the database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graphrec.db.server.install import ServerError, class_archive, class_sharing_flags, install_jars, keep_class_archive
from graphrec.db.server.lifecycle import IMPORTER_JVM_FLAGS, PRIVATE_UMASK, LocalServer


def import_database(server: LocalServer, database: str, arguments: list[str],
                    output: Callable[[str], None] | None = None) -> str:
    """Build `database` of the stopped `server` with `neo4j-admin database import full ARGUMENTS`.

    The database's current files are moved aside first (`_store_aside`), so the importer writes a new store
    and never overwrites one (no `--overwrite-destination`); they are deleted once the import has succeeded
    and put back if it fails or is interrupted. The caller makes sure that the database held nothing worth
    keeping (`graphrec.load.bulk` checks that it is empty). The importer's output is kept in
    `logs/import.log`, passed line by line to `output` when given, and returned.
    """
    java = _stopped_for(server, "an offline import")
    archive = class_archive(java, "importer")
    sharing, recording = class_sharing_flags(archive)
    command = server.admin_command(java, install_jars(), "database", "import", "full", *arguments, database,
                                  jvm=[f"-Xmx{server.heap}", *IMPORTER_JVM_FLAGS, *sharing])
    log_path = server.home / "logs" / "import.log"
    lines: list[str] = []
    process: subprocess.Popen[str] | None = None
    try:
        with _store_aside(server, database), open(log_path, "w") as log, subprocess.Popen(
                command, env=server.admin_environment(), cwd=server.home, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, umask=PRIVATE_UMASK) as process:
            for line in process.stdout:  # type: ignore[union-attr]
                log.write(line)
                lines.append(line)
                if output is not None:
                    output(line.rstrip("\n"))
            process.wait()
            if process.returncode != 0:
                tail = "".join(lines[-15:]).strip()
                raise ServerError(f"the offline import failed (exit code {process.returncode}); the database "
                                  f"was left as it was. The end of {log_path}:\n{tail}")
    finally:
        if recording is not None:
            keep_class_archive(recording, archive, process is not None and process.returncode == 0)
    return "".join(lines)


def dump_database(server: LocalServer, database: str, target: Path) -> None:
    """Write `database` of the stopped `server` into the file `target` (a `neo4j-admin database dump`
    archive, mode 0600), replacing it only once the dump is complete."""
    if not server.has_database(database):
        raise ServerError(f"there is no database '{database}' in {server.home} to back up")
    java = _stopped_for(server, "a dump")
    fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            _run_admin(server, java, ["database", "dump", "--to-stdout", database], f"dumping '{database}'",
                            stdout=out)
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)


def load_database(server: LocalServer, database: str, source: Path) -> None:
    """Replace `database` of the stopped `server` with the dump `source`.

    The database's current files are moved aside first (`_store_aside`) and put back if the load fails, so a
    bad dump never costs the database; the caller decides whether they may be replaced.
    """
    java = _stopped_for(server, "a load")
    check_dump(server, source, java)
    with _store_aside(server, database), open(source, "rb") as dump:
        _run_admin(server, java, ["database", "load", "--from-stdin", database], f"loading {source}", stdin=dump)


def check_dump(server: LocalServer, source: Path, java: str | None = None) -> None:
    """Raise `ServerError` unless `source` is a readable dump archive (`neo4j-admin database load --info`)."""
    if not source.is_file():
        raise ServerError(f"{source}: no such file")
    java = java or server.java()
    with open(source, "rb") as dump:
        _run_admin(server, java, ["database", "load", "--info", "--from-stdin", "neo4j"],
                        f"reading {source} (is it a dump of `graphrec backup`?)", stdin=dump)


def _run_admin(server: LocalServer, java: str, arguments: list[str], what: str, **streams: Any) -> None:
    """Run `neo4j-admin ARGUMENTS` (stdout to `streams['stdout']` when given); raise `ServerError` with the
    start of its error output when it fails."""
    result = subprocess.run(server.admin_command(java, install_jars(), *arguments, jvm=[f"-Xmx{server.heap}"]),
                            env=server.admin_environment(), cwd=server.home, stderr=subprocess.PIPE,
                            stdout=streams.get("stdout", subprocess.PIPE), stdin=streams.get("stdin"),
                            umask=PRIVATE_UMASK)
    if result.returncode != 0:
        output = (result.stderr or b"").decode(errors="replace").strip().splitlines()
        detail = next((line.strip() for line in output if line.strip()), "no output")
        raise ServerError(f"{what} failed (neo4j-admin exit code {result.returncode}): {detail}")


def _stopped_for(server: LocalServer, what: str) -> str:
    """Check that the server is stopped, prepare the home for `neo4j-admin`; return the `java` to run."""
    if server.status().running:
        raise ServerError(f"the server must be stopped before {what}")
    server.size_memory()
    server.write_config()
    server.secure_home()
    return server.java()


@contextmanager
def _store_aside(server: LocalServer, database: str) -> Iterator[None]:
    """Move `database`'s files (`data/databases/<database>`, `data/transactions/<database>`) into
    `<home>/aside-<database>/` for the block: deleted when it succeeds, put back when it fails or is
    interrupted. Refuses when an earlier block was cut short (its files are still aside)."""
    aside = server.home / f"aside-{database}"
    if aside.exists():
        raise ServerError(f"an earlier import or load was interrupted: {aside} holds the files of the database "
                          f"it replaced; move them back under {server.home / 'data'} or delete them")
    store = {kind: server.home / "data" / kind / database for kind in ("databases", "transactions")}
    aside.mkdir()
    for kind, path in store.items():
        if path.exists():
            path.rename(aside / kind)
    try:
        yield
    except BaseException:
        for kind, path in store.items():
            shutil.rmtree(path, ignore_errors=True)
            if (aside / kind).exists():
                (aside / kind).rename(path)
        aside.rmdir()
        raise
    shutil.rmtree(aside)
