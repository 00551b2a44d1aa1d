"""Neo4j Browser as graphrec serves it: Browser 5.24 with graphrec's guide and style, applied on connect.

Neo4j serves Browser at `/browser/` from the Browser jar, unless its web folder (the setting
`internal.dbms.web_dir_path`, by default `<NEO4J_HOME>/web`) holds a `neo4j-browser.zip`, which it unpacks at
start and serves instead (the archive's first entry is the served root). graphrec builds that archive once
per Browser jar and guide (`install_bundle`): the jar's `browser/` tree plus, under `browser/guides/graphrec/`,

- `index.html`: the guide (`:play graphrec` or `:guide graphrec`), rendered from `graphrec/browser/guide.html`,
  whose `{{params NAME}}` and `{{query NAME}}` are replaced by the `:param` lines and the statement of
  `cypher/NAME.cypher` (`graphrec.cypher.browser_params`, `statements`): a slide shows the file's own text;
- `graphrec.grass`: the style (colours, captions, sizes of users, items, groups, models, recommendations).

`settings` then has Browser, on connecting, apply the style and open the guide (`browser.post_connect_cmd`),
and find the guide by name: Browser fetches guides and styles only from hosts in
`browser.remote_content_hostname_whitelist` (its 5.26 name), and looks a guide `:play NAME` up as
`<entry>/NAME` for each URL entry, in order; graphrec's guide folder comes first. A Docker server serves the
same archive mounted at `/var/lib/neo4j/web` (`graphrec neo4j browser-bundle DIR`, README).
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from graphrec.db import cypher

ASSETS = Path(__file__).resolve().parents[2] / "browser"
"""graphrec's Browser files: `guide.html` (the guide's template) and `graphrec.grass` (the style)."""

GUIDE_FOLDER = "guides/graphrec"
"""Where the guide and the style are served, under `/browser/`."""

ARCHIVE = "neo4j-browser.zip"
"""The name Neo4j looks for in its web folder (`neo4j-browser*.zip`, the highest version wins)."""

KEEP_DAYS = 7
"""Cached bundles unused for this many days are removed when another is built."""

_PLACEHOLDER = re.compile(r"\{\{(params|query) (\w+)\}\}")


def render_guide() -> str:
    """The guide's HTML: `guide.html` with each `{{params NAME}}` / `{{query NAME}}` replaced by a runnable
    block holding the `:param` lines / the statements (`;`-separated) of `cypher/NAME.cypher`."""

    def block(match: re.Match[str]) -> str:
        part, name = match.groups()
        text = ("\n".join(cypher.browser_params(name)) if part == "params"
                else ";\n".join(cypher.statements(name)))
        return f'<pre class="pre-scrollable code runnable">{html.escape(text)}</pre>'

    return _PLACEHOLDER.sub(block, (ASSETS / "guide.html").read_text(encoding="utf-8"))


def guide_files() -> dict[str, bytes]:
    """The files served under `/browser/guides/graphrec/`, by name."""
    return {"index.html": render_guide().encode(), "graphrec.grass": (ASSETS / "graphrec.grass").read_bytes()}


def build_bundle(browser_jar: Path, target: Path) -> Path:
    """Write `target` (a `neo4j-browser.zip`): the `browser/` tree of `browser_jar` and graphrec's guide files.

    Neo4j unpacks the archive entry by entry without creating missing folders, so every folder has its own
    entry ahead of its files, and `browser/` comes first.
    """
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    with zipfile.ZipFile(browser_jar) as jar, zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
        for entry in jar.infolist():
            if entry.filename.startswith("browser/"):
                out.writestr(entry, jar.read(entry))
        folder = "browser/"
        for part in GUIDE_FOLDER.split("/"):
            folder += f"{part}/"
            if folder not in out.namelist():
                out.writestr(folder, b"")
        for name, data in guide_files().items():
            out.writestr(f"browser/{GUIDE_FOLDER}/{name}", data)
    os.replace(partial, target)
    return target


def install_bundle(lib: Path) -> Path:
    """The web folder holding graphrec's `neo4j-browser.zip` for the Browser jar in `lib`, built when missing.

    Bundles are cached next to `lib`, one folder per Browser jar and guide (`browser-<hash>`, about 15 MB);
    using one marks it used (its modification time), and building one removes those unused for `KEEP_DAYS`
    (checkouts with other guides share the cache, and a starting server reads its bundle after this returns).
    """
    (browser_jar,) = lib.glob("neo4j-browser-*.jar")
    digest = hashlib.sha256(browser_jar.name.encode())
    for name, data in sorted(guide_files().items()):
        digest.update(name.encode() + b"\0" + data)
    folder = lib.parent / f"browser-{digest.hexdigest()[:12]}"
    if not (folder / ARCHIVE).is_file():
        folder.mkdir(exist_ok=True)
        build_bundle(browser_jar, folder / ARCHIVE)
        for other in lib.parent.glob("browser-*"):
            if other != folder and time.time() - other.stat().st_mtime > KEEP_DAYS * 86_400:
                shutil.rmtree(other, ignore_errors=True)
    os.utime(folder)
    return folder


def settings(http_url: str, web_dir: Path) -> dict[str, str]:
    """neo4j.conf settings for Browser at `http_url` (`http://host:port`, as the user's browser reaches the
    server): the web folder `web_dir`, the style and the guide on connect, graphrec's guide folder first in the
    allow-list (then the host, and Browser's defaults), and no product analytics."""
    guides = f"{http_url}/browser/{GUIDE_FOLDER.rsplit('/', 1)[0]}"
    host = re.sub(r"^https?://|:\d+$", "", http_url)
    return {
        "internal.dbms.web_dir_path": str(web_dir),
        "browser.post_connect_cmd": f"style {http_url}/browser/{GUIDE_FOLDER}/graphrec.grass; play graphrec",
        "browser.remote_content_hostname_whitelist": f"{guides},{host},guides.neo4j.com,localhost",
        "client.allow_telemetry": "false",
    }


def export_bundle(lib: Path, out: Path) -> Path:
    """Copy graphrec's `neo4j-browser.zip` into the folder `out` (for a Docker server's web folder)."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=out, delete=False) as partial:
        shutil.copyfile(install_bundle(lib) / ARCHIVE, partial.name)
    os.chmod(partial.name, 0o644)  # read by the container's neo4j user
    os.replace(partial.name, out / ARCHIVE)
    return out / ARCHIVE
