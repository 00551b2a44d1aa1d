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

The jars (server, Browser and their dependencies, about 140 MB) are fetched once by Maven into
`$XDG_CACHE_HOME/graphrec/neo4j-<version>/lib` and shared by every home on the machine; next to them,
`apoc-<version>/` (APOC core, about 3 MB) and `browser-<hash>/neo4j-browser.zip` (Browser with graphrec's
guide and style, which the server serves at /browser/: `graphrec.server.browser`), and
`procedures-<hash>/graphrec-procedures.jar`: graphrec's own procedures (`graphrec.topItems`, the exact
candidates of `cypher/recommend_user.cypher` and `cypher/recommend_group.cypher` on large catalogues, and
`graphrec.itemWeights`, their item–item weight sums), compiled once with the JDK's `javac` from
`graphrec/server/procedures/*.java` against the server's jars; the hash is the sources', so an edit rebuilds it.

Class-data sharing: the first server (and the first offline import) on a machine records the classes it
loaded in an archive next to the jars (`server-<jdk>.jsa`, about 130 MB; `importer-<jdk>.jsa`, about 30 MB),
written when that JVM exits cleanly (the first `stop` takes ~10 s longer). Later JVMs map it instead of
loading and verifying ~20,000 classes again: on the 2-core machine a server starts in ~6 s instead of ~9 s and
answers its first query in ~1 s instead of ~2 s. A JVM that finds the archive does not match (another JDK,
other jars) ignores it and starts as usual; delete the archive to record a new one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import neo4j

from graphrec.config import Connection
from graphrec.server import browser

NEO4J_VERSION = "5.26.30"
BROWSER_VERSION = "5.24.0"
APOC_VERSION = "5.26.19"  # the newest APOC core on Maven Central for Neo4j 5.26
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
# The JVM's class-data-sharing messages (classes it cannot archive, an archive it cannot use) are not errors.
QUIET_CLASS_SHARING = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]


class ServerError(RuntimeError):
    """The local server could not be installed, started or stopped."""


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def jar_dir() -> Path:
    """Where the Neo4j jars are cached: `$XDG_CACHE_HOME/graphrec/neo4j-<version>/lib`."""
    return _xdg("XDG_CACHE_HOME", ".cache") / "graphrec" / f"neo4j-{NEO4J_VERSION}" / "lib"


def install_jars() -> Path:
    """Fetch Neo4j Community and Browser with Maven into the cache, once; return the jar folder."""
    return _maven_fetch("pom.xml", jar_dir(), f"Neo4j {NEO4J_VERSION} Community and Browser {BROWSER_VERSION}",
                        "about 140 MB")


def plugin_dir() -> Path:
    """Where the server's plugins are cached: `$XDG_CACHE_HOME/graphrec/neo4j-<version>/apoc-<version>`."""
    return jar_dir().parent / f"apoc-{APOC_VERSION}"


def install_plugins() -> Path:
    """Fetch APOC core (and the libraries it needs) with Maven into the cache, once; return their folder.

    Only its virtual nodes and relationships are used: the drawing of `recommend_user` and `recommend_group`
    (`$draw`), so that Browser draws recommendations with their scores and without the nodes' vectors.
    """
    return _maven_fetch("apoc-pom.xml", plugin_dir(), f"APOC {APOC_VERSION} core", "about 3 MB")


PROCEDURES_JAR = "graphrec-procedures.jar"


def install_procedures() -> Path:
    """Compile graphrec's procedures (`graphrec/server/procedures/*.java`) into the cache, once per version of
    their sources; return the folder holding `graphrec-procedures.jar`.

    `javac` (a JDK 17+) compiles them against the server's jars (`install_jars`); the jar is written under a
    temporary name and renamed into place, so an interrupted build is never taken for a finished one.
    """
    sources = sorted((path.name, path.read_bytes()) for path in files("graphrec.server").joinpath("procedures").iterdir()
                     if path.name.endswith(".java"))
    digest = hashlib.sha256(b"".join(name.encode() + b"\0" + text for name, text in sources)).hexdigest()[:12]
    target = jar_dir().parent / f"procedures-{digest}"
    if (target / PROCEDURES_JAR).is_file():
        return target
    javac = shutil.which("javac")
    if javac is None:
        raise ServerError("a JDK (`javac`, Java 17+) is needed once to compile graphrec's procedures; "
                          "install one (apt-get install openjdk-17-jdk-headless)")
    lib = install_jars()
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="procedures-build-", dir=target.parent) as build:
        source_dir, classes = Path(build) / "src", Path(build) / "classes"
        source_dir.mkdir()
        for name, text in sources:
            (source_dir / name).write_bytes(text)
        result = subprocess.run([javac, "--release", "17", "-proc:none", "-cp", f"{lib}/*", "-d", str(classes),
                                 *sorted(str(path) for path in source_dir.iterdir())],
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise ServerError(f"javac could not compile graphrec's procedures:\n{result.stdout}{result.stderr}")
        partial = Path(build) / PROCEDURES_JAR
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as jar:
            jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: graphrec\n")
            for path in sorted(classes.rglob("*.class")):
                jar.write(path, path.relative_to(classes).as_posix())
        partial.replace(target / PROCEDURES_JAR)
    return target


def _maven_fetch(pom_name: str, target: Path, what: str, size: str) -> Path:
    """Copy the runtime dependencies of `graphrec/server/<pom_name>` into `target` with Maven, once.

    Maven writes into a temporary folder that is renamed into place only when complete, so an interrupted
    download is never taken for a finished one.
    """
    if target.is_dir():
        return target
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ServerError("Maven (`mvn`) is needed once to fetch the Neo4j jars; install it (apt-get install maven)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
    pom = files("graphrec.server").joinpath(pom_name)
    print(f"Fetching {what} from Maven Central into {target} (once, {size})...", flush=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
         f"-DoutputDirectory={partial}", f"-Dneo4j.version={NEO4J_VERSION}",
         f"-Dbrowser.version={BROWSER_VERSION}", f"-Dapoc.version={APOC_VERSION}"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
        raise ServerError(f"Maven could not fetch {what}:\n{tail}")
    partial.rename(target)
    return target


def class_archive(java: str, kind: str) -> Path:
    """The class-data-sharing archive of `kind` (`server` or `importer`) for this JDK, next to the jars.

    The JDK is named by its binary's path and modification time, so an upgraded JDK records a new archive.
    """
    binary = Path(java).resolve()
    jdk = hashlib.sha256(f"{binary}:{binary.stat().st_mtime_ns}".encode()).hexdigest()[:12]
    return jar_dir().parent / f"{kind}-{jdk}.jsa"


def class_sharing_flags(archive: Path) -> tuple[list[str], Path | None]:
    """JVM flags that map `archive`, or, while there is none, record one when the JVM exits.

    Returns the flags and the file being recorded (None when mapping); `keep_class_archive` makes it the
    archive once the JVM has exited cleanly. Each recording JVM writes its own file, so concurrent first
    starts do not write into one another's.
    """
    if archive.exists():
        return [f"-XX:SharedArchiveFile={archive}", *QUIET_CLASS_SHARING], None
    recording = archive.with_name(f"{archive.name}.{secrets.token_hex(4)}.partial")
    return [f"-XX:ArchiveClassesAtExit={recording}", *QUIET_CLASS_SHARING], recording


def keep_class_archive(recording: Path, archive: Path, exited_cleanly: bool) -> None:
    """Put a recorded archive in place when its JVM exited cleanly (an archive cut short is deleted)."""
    if exited_cleanly and recording.exists():
        os.replace(recording, archive)
    else:
        recording.unlink(missing_ok=True)


@dataclass(frozen=True)
class Status:
    running: bool
    pid: int | None
    bolt_uri: str
    browser_url: str
    home: Path

    def describe(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        return (f"Neo4j {NEO4J_VERSION} Community: {state}\n"
                f"  Bolt:    {self.bolt_uri}\n  Browser: {self.browser_url}\n"
                f"  user:    {USER} (password in {self.home / 'password'})\n  home:    {self.home}")


class LocalServer:
    """One Neo4j server home on this machine.

    Args:
        home (Path): the server's folder (created on start).
        bolt_port (int, optional): Bolt port; default: the last start's, else 7687.
        http_port (int, optional): HTTP port serving Browser; default: the last start's, else 7474.
        heap (str): JVM heap, `-Xms` and `-Xmx` (default: `1g`).
        pagecache (str): page cache size (default: `512m`).
    """

    def __init__(self, home: Path, bolt_port: int | None = None, http_port: int | None = None,
                 heap: str = "1g", pagecache: str = "512m") -> None:
        self.home = Path(home).expanduser().resolve()
        saved = self._saved_ports()
        self.bolt_port = bolt_port or saved.get("bolt", DEFAULT_BOLT_PORT)
        self.http_port = http_port or saved.get("http", DEFAULT_HTTP_PORT)
        self.heap = heap
        self.pagecache = pagecache
        self._process: subprocess.Popen[bytes] | None = None  # set when this object started the server

    @classmethod
    def from_environment(cls, **kwargs: object) -> LocalServer:
        """The server at `$GRAPHREC_NEO4J_HOME`, else `$XDG_DATA_HOME/graphrec/neo4j`."""
        home = os.environ.get("GRAPHREC_NEO4J_HOME") or _xdg("XDG_DATA_HOME", ".local/share") / "graphrec" / "neo4j"
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

    def start(self, password: str | None = None, timeout: float = 180.0) -> Status:
        """Start the server (a no-op when it already runs) and wait until Bolt and HTTP answer.

        On the first start the `neo4j` user's password is set to `password`, or to a generated one, and
        kept in `<home>/password`; later starts keep it (a different `password` is an error).
        """
        if self.status().running:
            return self.status()
        java = self._java()
        for port in (self.bolt_port, self.http_port):
            if not _port_free(port):
                raise ServerError(f"port {port} on 127.0.0.1 is already in use (another server?); "
                                  "choose others with --bolt-port / --http-port")
        lib = install_jars()
        self._link_plugins(install_plugins(), install_procedures())
        self._write_config()
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
            if self._bolt_answers() and self._http_answers():
                return self.status()
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

    def _write_config(self) -> None:
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
        text = "# Written by graphrec on every start; edit graphrec/server/local.py instead.\n"
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
        """Browser served with graphrec's guide and style (`graphrec.server.browser`)."""
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
                self._admin_command(java, lib, "dbms", "set-initial-password", f"@{arguments}",
                                    jvm=["-Dfile.encoding=UTF-8"]),
                env=self._admin_environment(), capture_output=True, text=True, umask=PRIVATE_UMASK)
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

    def import_database(self, database: str, arguments: list[str],
                        output: Callable[[str], None] | None = None) -> str:
        """Build `database` of this stopped server with `neo4j-admin database import full ARGUMENTS`.

        The database's current files are moved aside first (`_store_aside`), so the importer writes a new store
        and never overwrites one (no `--overwrite-destination`); they are deleted once the import has succeeded
        and put back if it fails or is interrupted. The caller makes sure that the database held nothing worth
        keeping (`graphrec.load.bulk` checks that it is empty). The importer's output is kept in
        `logs/import.log`, passed line by line to `output` when given, and returned.
        """
        java = self._stopped_for("an offline import")
        archive = class_archive(java, "importer")
        sharing, recording = class_sharing_flags(archive)
        command = self._admin_command(java, install_jars(), "database", "import", "full", *arguments, database,
                                      jvm=[f"-Xmx{self.heap}", *IMPORTER_JVM_FLAGS, *sharing])
        log_path = self.home / "logs" / "import.log"
        lines: list[str] = []
        process: subprocess.Popen[str] | None = None
        try:
            with self._store_aside(database), open(log_path, "w") as log, subprocess.Popen(
                    command, env=self._admin_environment(), cwd=self.home, stdin=subprocess.DEVNULL,
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

    def dump_database(self, database: str, target: Path) -> None:
        """Write `database` of this stopped server into the file `target` (a `neo4j-admin database dump`
        archive, mode 0600), replacing it only once the dump is complete."""
        if not self.has_database(database):
            raise ServerError(f"there is no database '{database}' in {self.home} to back up")
        java = self._stopped_for("a dump")
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                self._run_admin(java, ["database", "dump", "--to-stdout", database], f"dumping '{database}'",
                                stdout=out)
            os.replace(partial, target)
        finally:
            Path(partial).unlink(missing_ok=True)

    def load_database(self, database: str, source: Path) -> None:
        """Replace `database` of this stopped server with the dump `source`.

        The database's current files are moved aside first (`_store_aside`) and put back if the load fails, so a
        bad dump never costs the database; the caller decides whether they may be replaced.
        """
        java = self._stopped_for("a load")
        self.check_dump(source, java)
        with self._store_aside(database), open(source, "rb") as dump:
            self._run_admin(java, ["database", "load", "--from-stdin", database], f"loading {source}", stdin=dump)

    def check_dump(self, source: Path, java: str | None = None) -> None:
        """Raise `ServerError` unless `source` is a readable dump archive (`neo4j-admin database load --info`)."""
        if not source.is_file():
            raise ServerError(f"{source}: no such file")
        java = java or self._java()
        with open(source, "rb") as dump:
            self._run_admin(java, ["database", "load", "--info", "--from-stdin", "neo4j"],
                            f"reading {source} (is it a dump of `graphrec backup`?)", stdin=dump)

    def _run_admin(self, java: str, arguments: list[str], what: str, **streams: Any) -> None:
        """Run `neo4j-admin ARGUMENTS` (stdout to `streams['stdout']` when given); raise `ServerError` with the
        start of its error output when it fails."""
        result = subprocess.run(self._admin_command(java, install_jars(), *arguments, jvm=[f"-Xmx{self.heap}"]),
                                env=self._admin_environment(), cwd=self.home, stderr=subprocess.PIPE,
                                stdout=streams.get("stdout", subprocess.PIPE), stdin=streams.get("stdin"),
                                umask=PRIVATE_UMASK)
        if result.returncode != 0:
            output = (result.stderr or b"").decode(errors="replace").strip().splitlines()
            detail = next((line.strip() for line in output if line.strip()), "no output")
            raise ServerError(f"{what} failed (neo4j-admin exit code {result.returncode}): {detail}")

    def _java(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise ServerError("Java 17 or 21 is needed to run Neo4j 5.26 (`java` not found on PATH)")
        return java

    def _stopped_for(self, what: str) -> str:
        """Check that the server is stopped, prepare the home for `neo4j-admin`; return the `java` to run."""
        if self.status().running:
            raise ServerError(f"the server must be stopped before {what}")
        self._write_config()
        self.secure_home()
        return self._java()

    @contextmanager
    def _store_aside(self, database: str) -> Iterator[None]:
        """Move `database`'s files (`data/databases/<database>`, `data/transactions/<database>`) into
        `<home>/aside-<database>/` for the block: deleted when it succeeds, put back when it fails or is
        interrupted. Refuses when an earlier block was cut short (its files are still aside)."""
        aside = self.home / f"aside-{database}"
        if aside.exists():
            raise ServerError(f"an earlier import or load was interrupted: {aside} holds the files of the database "
                              f"it replaced; move them back under {self.home / 'data'} or delete them")
        store = {kind: self.home / "data" / kind / database for kind in ("databases", "transactions")}
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

    def _admin_command(self, java: str, lib: Path, *arguments: str, jvm: list[str] | None = None) -> list[str]:
        """A `neo4j-admin` command line (`org.neo4j.cli.AdminTool`) on the server's classpath."""
        return [java, *(jvm or []), "-cp", f"{lib}/*", "org.neo4j.cli.AdminTool", *arguments]

    def _admin_environment(self) -> dict[str, str]:
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
        if not self.password_file.exists():
            return False
        try:
            with neo4j.GraphDatabase.driver(self.bolt_uri, auth=(USER, self.password())) as driver:
                driver.verify_connectivity()
            return True
        except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, neo4j.exceptions.AuthError,
                OSError):
            return False

    def _http_answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

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
def temporary_server(heap: str = "2g", pagecache: str = "1g", start: bool = True) -> Iterator[LocalServer]:
    """A server in a temporary folder on free ports, started unless `start` is False (a new home), stopped and
    deleted on exit (for benchmarks)."""
    with tempfile.TemporaryDirectory(prefix="graphrec-neo4j-") as home:
        server = LocalServer(Path(home), bolt_port=free_port(), http_port=free_port(), heap=heap, pagecache=pagecache)
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
