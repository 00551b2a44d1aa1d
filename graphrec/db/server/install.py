"""Installs what the local server runs: the Neo4j 5.26 Community and Browser jars and APOC core, fetched off
Maven Central by Maven, and graphrec's own procedures, compiled with the JDK's `javac`.

The jars (server, Browser and their dependencies, about 140 MB) are fetched once into
`$XDG_CACHE_HOME/graphrec/neo4j-<version>/lib` and shared by every home on the machine; next to them,
`apoc-<version>/` (APOC core, about 3 MB) and `browser-<hash>/neo4j-browser.zip` (Browser with graphrec's
guide and style, which the server serves at /browser/: `graphrec.db.server.browser`), and
`procedures-<hash>/graphrec-procedures.jar`: graphrec's own procedures (`graphrec.topItems`, the exact
candidates of `cypher/recommend_user.cypher` and `cypher/recommend_group.cypher` on large catalogues, and
`graphrec.itemWeights`, their item–item weight sums, and the functions `graphrec.innerProducts`, their
candidates' q . v, and `graphrec.mmr`, their diversity re-ranking; `graphrec.writeVectors` and
`graphrec.writeSimilar`, which write-back sends packed batches to), compiled once from
`graphrec/db/server/procedures/*.java` against the server's jars; the hash is the sources', so an edit
rebuilds it.

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
import subprocess
import tempfile
import zipfile
from importlib.resources import files
from pathlib import Path

NEO4J_VERSION = "5.26.30"
BROWSER_VERSION = "5.24.0"
APOC_VERSION = "5.26.19"  # the newest APOC core on Maven Central for Neo4j 5.26
# The JVM's class-data-sharing messages (classes it cannot archive, an archive it cannot use) are not errors.
QUIET_CLASS_SHARING = ["-Xlog:cds=off", "-Xlog:cds+dynamic=off"]


class ServerError(RuntimeError):
    """The local server could not be installed, started or stopped."""


def xdg_dir(var: str, fallback: str) -> Path:
    """`$var`, else `~/fallback` (the XDG base folders)."""
    return Path(os.environ.get(var) or Path.home() / fallback)


def jar_dir() -> Path:
    """Where the Neo4j jars are cached: `$XDG_CACHE_HOME/graphrec/neo4j-<version>/lib`."""
    return xdg_dir("XDG_CACHE_HOME", ".cache") / "graphrec" / f"neo4j-{NEO4J_VERSION}" / "lib"


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
    """Compile graphrec's procedures (`graphrec/db/server/procedures/*.java`) into the cache, once per version of
    their sources; return the folder holding `graphrec-procedures.jar`.

    `javac` (a JDK 17+) compiles them against the server's jars (`install_jars`); the jar is written under a
    temporary name and renamed into place, so an interrupted build is never taken for a finished one.
    """
    sources = sorted((path.name, path.read_bytes()) for path in files("graphrec.db.server").joinpath("procedures").iterdir()
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
        # the scan's SIMD lanes (TopItems.dot4) use the Vector API, a module Neo4j 5's launcher adds to the server
        result = subprocess.run([javac, "--release", "17", "--add-modules", "jdk.incubator.vector", "-proc:none",
                                 "-cp", f"{lib}/*", "-d", str(classes),
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
    """Copy the runtime dependencies of `graphrec/db/server/<pom_name>` into `target` with Maven, once.

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
    pom = files("graphrec.db.server").joinpath(pom_name)
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
