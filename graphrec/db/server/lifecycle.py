"""A Neo4j 5.26 Community server run with `java` from jars fetched off Maven Central.

Layout (home defaults to `$XDG_DATA_HOME/graphrec/neo4j`, i.e. `~/.local/share/graphrec/neo4j`, or
`$GRAPHREC_NEO4J_HOME`):

    <home>/conf/neo4j.conf    written on every start from the settings below
    <home>/data, logs, run    the database, `logs/console.log` (the server's output), the pid file
    <home>/import             the server's import folder; `graphrec.load.bulk` writes its CSV files here
    <home>/aside-<db>         only during an offline import or a load: the files of the database it replaces
    <home>/password           the `neo4j` user's password, mode 0600, generated unless the user sets one
    <home>/plugins            links to the cached APOC core jars and graphrec's procedures (on the server's
                              class path, last)
    <home>/ports              the Bolt and HTTP ports of the last start

Security: the home and everything in it (the store, the logs, the password, `data/dbms/auth.ini`) are readable
by their owner only: folders 0700, files 0600, kept so on every start (`secure_home`), and the Java processes run
with the umask 077. The password never appears on a command line: the initial one reaches
`neo4j-admin dbms set-initial-password` through an argument file (`@file`, a picocli feature Neo4j documents)
that only the owner can read and that is deleted at once.

The jars and procedures it runs are installed by `graphrec.db.server.install`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from graphrec.db.connection import Connection
from graphrec.db.server import browser, probe
from graphrec.db.server.install import (
    NEO4J_VERSION,
    ServerError,
    class_archive,
    class_sharing_flags,
    install_jars,
    install_plugins,
    install_procedures,
    keep_class_archive,
    plugin_dir,
    xdg_dir,
)
from graphrec.db.server.memory import Memory, machine_bytes, recommended, store_bytes

DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
USER = "neo4j"
PRIVATE_UMASK = 0o077
"""The umask of every Java process graphrec starts: what they create is for the owner only."""

# The JVM flags of Neo4j 5.x's own launcher (java.nio must be open or vector indexes can stall) except
# -XX:+AlwaysPreTouch: touching every page of the heap up front added ~1 s to each start of a 2 GB heap on
# the 2-core machine; pages are touched as the heap grows instead.
JVM_FLAGS = [
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--enable-native-access=ALL-UNNAMED",
    "--add-modules=jdk.incubator.vector",
    "-Dlog4j2.disable.jmx=true",
]

# The offline importer is a short-lived JVM: on 2 cores, C2 compilation and parallel GC threads cost more CPU
# than they save before the import is over (Gowalla, launch to exit, interleaved runs on the busy 2-core
# machine: stock flags 14.6-27 s, C1 only 11.4-18.6 s, C1 and the serial GC 10.0-13.1 s).
IMPORTER_JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    home: Path
    memory: Memory | None = None  # what the start that made this status chose

    def describe(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        memory = "" if self.memory is None else (f"\n  memory:  heap {self.memory.heap}, page cache "
                                                  f"{self.memory.pagecache} ({self.memory.reason})")
        return (f"Neo4j {NEO4J_VERSION} Community: {state}\n"
                f"  Bolt:    {self.bolt_uri}\n  Browser: {self.browser_url}\n"
                f"  user:    {USER} (password in {self.home / 'password'})\n  home:    {self.home}{memory}")


class LocalServer:
    """One Neo4j server home on this machine.

    Args:
        home (Path): the server's folder (created on start).
        bolt_port (int, optional): Bolt port; default: the last start's, else 7687.
        http_port (int, optional): HTTP port serving Browser; default: the last start's, else 7474.
        heap (str, optional): JVM heap, `-Xms` and `-Xmx` (default: sized at each start from the store and
            the machine, `graphrec.db.server.memory`).
        pagecache (str, optional): page cache size (default: sized likewise).
        procedures (bool, optional): whether the server loads graphrec's procedures; False starts it with APOC
            core alone, as on Aura, where serving falls back to plain Cypher (default: True).
    """

    def __init__(self, home: Path, bolt_port: int | None = None, http_port: int | None = None,
                 heap: str | None = None, pagecache: str | None = None, procedures: bool = True) -> None:
        self.home = Path(home).expanduser().resolve()
        saved = self._saved_ports()
        self.bolt_port = bolt_port or saved.get("bolt", DEFAULT_BOLT_PORT)
        self.http_port = http_port or saved.get("http", DEFAULT_HTTP_PORT)
        self.settings = (heap, pagecache)  # as given; None: sized by size_memory
        self.procedures = procedures
        self.memory: Memory | None = None  # sized on first use and at each start
        self._process: subprocess.Popen[bytes] | None = None  # set when this object started the server

    @classmethod
    def from_environment(cls, **kwargs: object) -> LocalServer:
        """The server at `$GRAPHREC_NEO4J_HOME`, else `$XDG_DATA_HOME/graphrec/neo4j`."""
        home = os.environ.get("GRAPHREC_NEO4J_HOME") or xdg_dir("XDG_DATA_HOME", ".local/share") / "graphrec" / "neo4j"
        return cls(Path(home), **kwargs)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"LocalServer({str(self.home)!r}, bolt_port={self.bolt_port}, http_port={self.http_port})"

    @property
    def bolt_uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    @property
    def browser_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/browser/"

    @property
    def password_file(self) -> Path:
        return self.home / "password"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "console.log"

    def connection(self, database: str = "neo4j") -> Connection:
        """Connection settings for this server's `neo4j` user."""
        return Connection(self.bolt_uri, USER, self.password(), database)

    def is_configured(self) -> bool:
        """Whether this home has been started at least once."""
        return self.password_file.exists()

    def has_database(self, database: str = "neo4j") -> bool:
        """Whether `database`'s store exists in this home (created by a first start or an import)."""
        return (self.home / "data" / "databases" / database).exists()

    def password(self) -> str:
        return self.password_file.read_text(encoding="utf-8").strip()

    def status(self) -> Status:
        pid = self._pid()
        running = pid is not None and self._bolt_answers()
        return Status(running, pid if running else None, self.bolt_uri, self.browser_url, self.home)

    @property
    def heap(self) -> str:
        return (self.memory or self.size_memory()).heap

    @property
    def pagecache(self) -> str:
        return (self.memory or self.size_memory()).pagecache

    def size_memory(self) -> Memory:
        """The heap and page cache for the next start (or offline run): those given, else sized from the store
        as it is now and the machine (`graphrec.db.server.memory.recommended`)."""
        heap, pagecache = self.settings
        if heap and pagecache:
            self.memory = Memory(heap, pagecache, "as given")
        else:
            sized = recommended(store_bytes(self.home), machine_bytes())
            self.memory = Memory(heap or sized.heap, pagecache or sized.pagecache, sized.reason)
        return self.memory

    def start(self, password: str | None = None, timeout: float = 180.0) -> Status:
        """Start the server (a no-op when it already runs) and wait until Bolt and HTTP answer.

        On the first start the `neo4j` user's password is set to `password`, or to a generated one, and
        kept in `<home>/password`; later starts keep it (a different `password` is an error).
        """
        if self.status().running:
            return self.status()
        memory = self.size_memory()
        java = self.java()
        for port in (self.bolt_port, self.http_port):
            if not _port_free(port):
                raise ServerError(f"port {port} on 127.0.0.1 is already in use (another server?); "
                                  "choose others with --bolt-port / --http-port")
        lib = install_jars()
        self._link_plugins(install_plugins(), *([install_procedures()] if self.procedures else []))
        self.write_config()
        self._ensure_password(java, lib, password)
        self._save_ports()
        self.secure_home()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        archive = class_archive(java, "server")
        sharing, recording = class_sharing_flags(archive)
        self._recording_file.unlink(missing_ok=True)
        if recording is not None:
            _write_private(self._recording_file, f"{recording}\n{archive}\n")
        with open(self.log_file, "ab", opener=_private_opener) as log:
            process = subprocess.Popen(
                [java, f"-Xms{self.heap}", f"-Xmx{self.heap}", *JVM_FLAGS, *sharing, "-cp", f"{lib}/*:{self.home / 'plugins'}/*",
                 "org.neo4j.server.CommunityEntryPoint", f"--home-dir={self.home}",
                 f"--config-dir={self.home / 'conf'}", "--console-mode"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=self.home, umask=PRIVATE_UMASK,
            )
        self._process = process
        _write_private(self.home / "run" / "graphrec.pid", str(process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerError(f"Neo4j exited with code {process.returncode} while starting; "
                                  f"the end of {self.log_file}:\n{self._log_tail()}")
            if self._bolt_answers() and self._http_answers() and self._accepts_queries():
                return replace(self.status(), memory=memory)
            time.sleep(0.5)
        self._terminate(process.pid, grace=10)
        raise ServerError(f"Neo4j did not answer on {self.bolt_uri} within {timeout:.0f} s; "
                          f"the end of {self.log_file}:\n{self._log_tail()}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Shut the server down cleanly (SIGTERM, then SIGKILL after `timeout`); False if it was not running."""
        pid = self._pid()
        if pid is None:
            return False
        exited_cleanly = self._terminate(pid, grace=timeout)
        (self.home / "run" / "graphrec.pid").unlink(missing_ok=True)
        if self._recording_file.exists():
            recording, archive = self._recording_file.read_text().splitlines()
            keep_class_archive(Path(recording), Path(archive), exited_cleanly)
            self._recording_file.unlink()
        return True

    @property
    def _recording_file(self) -> Path:
        """Names the class archive this home's running server records at exit, if it records one."""
        return self.home / "run" / "class-archive-recording"

    def write_config(self) -> None:
        for sub in ("conf", "data", "logs", "run", "plugins", "import"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        settings = {
            "server.directories.data": self.home / "data",
            "server.directories.logs": self.home / "logs",
            "server.directories.run": self.home / "run",
            "server.directories.plugins": self.home / "plugins",
            "server.directories.import": self.home / "import",
            **self._address_settings(),
            **self._browser_settings(),
            "server.https.enabled": "false",
            "dbms.security.auth_enabled": "true",
            "server.memory.pagecache.size": self.pagecache,
            "dbms.usage_report.enabled": "false",
            # Once the databases are stopped, Bolt would wait 5 s for connections to close and 5 s more
            # for Netty's quiet period: a stop takes ~1 s instead of ~11 s.
            "internal.server.bolt.connection_shutdown_wait_time": "0s",
            "internal.dbms.bolt.netty_server_shutdown_quiet_period": "0",
        }
        text = "# Written by graphrec on every start; edit graphrec/db/server/lifecycle.py instead.\n"
        text += "".join(f"{key}={value}\n" for key, value in settings.items())
        (self.home / "conf" / "neo4j.conf").write_text(text)

    def _address_settings(self) -> dict[str, str]:
        """Where the server listens and what it advertises: the ports graphrec chose, on 127.0.0.1.

        The advertised addresses are what the discovery endpoint (`http://127.0.0.1:<http>/`, read by Browser
        to pre-fill its connect form) and the routing table of a `neo4j://` client name; left unset they
        would be `localhost:7687` and `localhost:7474` whatever the listen ports, sending such clients to
        another server.
        """
        bolt, http = f"127.0.0.1:{self.bolt_port}", f"127.0.0.1:{self.http_port}"
        return {
            "server.default_listen_address": "127.0.0.1",
            "server.default_advertised_address": "127.0.0.1",
            "server.bolt.listen_address": bolt,
            "server.bolt.advertised_address": bolt,
            "server.http.enabled": "true",
            "server.http.listen_address": http,
            "server.http.advertised_address": http,
        }

    def _browser_settings(self) -> dict[str, str]:
        """Browser served with graphrec's guide and style (`graphrec.db.server.browser`)."""
        return browser.settings(f"http://127.0.0.1:{self.http_port}", browser.install_bundle(install_jars()))

    def _link_plugins(self, *plugins: Path) -> None:
        """Link the cached plugin jars of the folders `plugins` into `<home>/plugins` (which the server's class
        path ends with), replacing links to other cached versions; jars the user put there are left alone."""
        folder = self.home / "plugins"
        folder.mkdir(parents=True, exist_ok=True)
        cache = plugin_dir().parent
        for link in folder.iterdir():
            if link.is_symlink() and Path(os.readlink(link)).is_relative_to(cache):
                link.unlink()
        for jar in sorted(jar for cached in plugins for jar in cached.glob("*.jar")):
            if not (folder / jar.name).exists():
                (folder / jar.name).symlink_to(jar)

    def _ensure_password(self, java: str, lib: Path, password: str | None) -> None:
        if self.password_file.exists():
            if password is not None and password != self.password():
                raise ServerError(f"this server's password was set on its first start and is kept in "
                                  f"{self.password_file}; it cannot be changed by `start`")
            return
        password = password or secrets.token_hex(16)
        if len(password) < 8:
            raise ServerError("Neo4j needs a password of at least 8 characters")
        if any(ord(c) < 32 for c in password):
            raise ServerError("a password cannot hold control characters (newlines, tabs...)")
        self.secure_home()
        with self._argument_file(["--", password]) as arguments:
            result = subprocess.run(
                self.admin_command(java, lib, "dbms", "set-initial-password", f"@{arguments}",
                                    jvm=["-Dfile.encoding=UTF-8"]),
                env=self.admin_environment(), capture_output=True, text=True, umask=PRIVATE_UMASK)
        if result.returncode != 0:
            first_lines = "\n".join((result.stdout + result.stderr).strip().splitlines()[:3])
            raise ServerError(f"could not set the initial password:\n{first_lines}")
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(password + "\n")

    @contextmanager
    def _argument_file(self, arguments: list[str]) -> Iterator[Path]:
        """A file of `neo4j-admin` arguments (`@file`), readable by the owner only, deleted on exit: how a
        secret reaches the tool without a command line that any local user can read in /proc."""
        fd, name = tempfile.mkstemp(prefix="admin-arguments-", dir=self.home)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(" ".join('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"' for a in arguments) + "\n")
            yield Path(name)
        finally:
            os.unlink(name)

    def secure_home(self) -> None:
        """Make the home and everything in it the owner's only: folders 0700, files 0600 (symbolic links and
        the owner's other permission bits left as they are)."""
        self.home.mkdir(parents=True, exist_ok=True)
        for folder, subfolders, names in os.walk(self.home):
            for path in [Path(folder), *(Path(folder) / name for name in subfolders + names)]:
                if path.is_symlink():
                    continue
                mode = path.stat().st_mode
                if mode & 0o077:
                    path.chmod(mode & 0o700)

    def java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise ServerError("Java 17 or 21 is needed to run Neo4j 5.26 (`java` not found on PATH)")
        return java

    def admin_command(self, java: str, lib: Path, *arguments: str, jvm: list[str] | None = None) -> list[str]:
        """A `neo4j-admin` command line (`org.neo4j.cli.AdminTool`) on the server's classpath."""
        return [java, *(jvm or []), "-cp", f"{lib}/*", "org.neo4j.cli.AdminTool", *arguments]

    def admin_environment(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}

    def _saved_ports(self) -> dict[str, int]:
        path = self.home / "ports"
        if not path.exists():
            return {}
        pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
        return {key: int(value) for key, value in pairs}

    def _save_ports(self) -> None:
        (self.home / "ports").write_text(f"bolt={self.bolt_port}\nhttp={self.http_port}\n")

    def _pid(self) -> int | None:
        """The server's pid if the pid file names a live Neo4j process of this home."""
        path = self.home / "run" / "graphrec.pid"
        if not path.exists():
            return None
        pid = int(path.read_text().strip())
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        return pid if "CommunityEntryPoint" in cmdline and f"--home-dir={self.home}" in cmdline else None

    def _bolt_answers(self) -> bool:
        return probe.bolt_answers(self.bolt_port)

    def _accepts_queries(self) -> bool:
        return self.password_file.exists() and probe.accepts_queries(self.bolt_uri, USER, self.password())

    def _http_answers(self) -> bool:
        return probe.http_answers(self.http_port)

    def _terminate(self, pid: int, grace: float) -> bool:
        """SIGTERM, then SIGKILL after `grace` seconds; whether the process exited before that."""
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return True
        if self._process is not None and self._process.pid == pid:
            process, self._process = self._process, None
            try:
                process.wait(timeout=grace)
                return True
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                return False
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
                return True
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        return False

    def _log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no log written)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def _private_opener(path: str, flags: int) -> int:
    """`open(..., opener=_private_opener)` creates the file for its owner only (mode 0600)."""
    return os.open(path, flags, 0o600)


def _write_private(path: Path, text: str) -> None:
    with open(path, "w", opener=_private_opener) as out:
        out.write(text)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True



def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def temporary_server(heap: str | None = "2g", pagecache: str | None = "1g",
                     start: bool = True, procedures: bool = True) -> Iterator[LocalServer]:
    """A server in a temporary folder on free ports, started unless `start` is False (a new home), stopped and
    deleted on exit (for benchmarks); `heap` or `pagecache` None: sized at each start; `procedures` False: without
    graphrec's procedures (`LocalServer`)."""
    with tempfile.TemporaryDirectory(prefix="graphrec-neo4j-") as home:
        server = LocalServer(Path(home), bolt_port=free_port(), http_port=free_port(), heap=heap, pagecache=pagecache,
                             procedures=procedures)
        try:
            if start:
                server.start()
            yield server
        finally:
            server.stop()


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
