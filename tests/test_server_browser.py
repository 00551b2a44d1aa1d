"""The local server as Browser and clients see it: advertised addresses that follow graphrec's ports, Browser
served with graphrec's guide and style, APOC for the drawings."""

from __future__ import annotations

import html
import json
import os
import re
import time
import urllib.request
import zipfile
from pathlib import Path

import neo4j
import pytest

from graphrec.db import cypher
from graphrec.db.server import browser
from graphrec.db.server.install import install_jars
from graphrec.db.server.lifecycle import USER, LocalServer

pytestmark = pytest.mark.neo4j


def test_discovery_and_routing_advertise_the_chosen_ports(server: LocalServer) -> None:
    assert (server.bolt_port, server.http_port) != (7687, 7474)
    with urllib.request.urlopen(f"http://127.0.0.1:{server.http_port}/", timeout=10) as response:
        discovery = json.load(response)
    assert discovery["bolt_routing"] == f"neo4j://127.0.0.1:{server.bolt_port}"  # Browser's connect form
    assert discovery["bolt_direct"] == f"bolt://127.0.0.1:{server.bolt_port}"
    assert discovery["transaction"].startswith(f"http://127.0.0.1:{server.http_port}/")
    with neo4j.GraphDatabase.driver(server.bolt_uri, auth=(USER, server.password())) as driver:
        table = driver.execute_query("CALL dbms.routing.getRoutingTable({}, 'neo4j')").records[0]["servers"]
    assert {address for entry in table for address in entry["addresses"]} == {f"127.0.0.1:{server.bolt_port}"}


@pytest.mark.parametrize("scheme", ["neo4j", "bolt"])
def test_both_schemes_reach_this_server(server: LocalServer, scheme: str) -> None:
    with neo4j.GraphDatabase.driver(f"{scheme}://127.0.0.1:{server.bolt_port}",
                                    auth=(USER, server.password())) as driver:
        summary = driver.execute_query("RETURN 1").summary
    assert (summary.server.address.host, summary.server.address.port) == ("127.0.0.1", server.bolt_port)


def test_the_bundle_is_browser_with_the_guide_and_the_style(tmp_path: Path) -> None:
    lib = install_jars()
    bundle = browser.build_bundle(next(lib.glob("neo4j-browser-*.jar")), tmp_path / browser.ARCHIVE)
    names = zipfile.ZipFile(bundle).namelist()
    assert names[0] == "browser/" and "browser/index.html" in names  # the first entry is the served root
    for name in names:  # Neo4j unpacks entry by entry: a folder comes before what it holds
        parent = name.rstrip("/").rpartition("/")[0] + "/"
        assert parent == "/" or names.index(parent) < names.index(name), name
    guide = zipfile.ZipFile(bundle).read(f"browser/{browser.GUIDE_FOLDER}/index.html").decode()
    assert "{{" not in guide
    assert html.escape(cypher.statement("recommend_user")) in guide  # the file's own text
    assert html.escape("\n".join(cypher.browser_params("recommend_user"))) in guide


def test_the_server_serves_the_guide_and_the_style_and_asks_browser_for_them(server: LocalServer) -> None:
    base = f"http://127.0.0.1:{server.http_port}/browser/{browser.GUIDE_FOLDER}"
    with urllib.request.urlopen(base, timeout=10) as response:  # `:play graphrec` looks the name up so
        assert "Their recommendations" in response.read().decode()
    with urllib.request.urlopen(f"{base}/graphrec.grass", timeout=10) as response:
        assert "node.Item" in response.read().decode()
    with neo4j.GraphDatabase.driver(server.bolt_uri, auth=(USER, server.password())) as driver:
        config = {r["name"]: r["value"] for r in driver.execute_query("CALL dbms.clientConfig()").records}
    assert config["browser.post_connect_cmd"] == f"style {base}/graphrec.grass; play graphrec"
    assert config["browser.remote_content_hostname_whitelist"].startswith(
        f"http://127.0.0.1:{server.http_port}/browser/guides,127.0.0.1,")


def test_apoc_serves_the_virtual_graph_functions(server: LocalServer) -> None:
    with neo4j.GraphDatabase.driver(server.bolt_uri, auth=(USER, server.password())) as driver:
        record = driver.execute_query("RETURN apoc.version() AS version, "
                                      "apoc.create.vNode(['Item'], {id: 1}) AS node").records[0]
    assert record["version"].startswith("5.26") and record["node"]["id"] == 1


def test_docker_compose_sets_what_the_local_server_sets() -> None:
    compose = (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()
    env = dict(re.findall(r"^\s+(NEO4J_\w+): (.+)$", compose, re.MULTILINE))
    for key, value in browser.settings("http://127.0.0.1:7474", Path("web")).items():
        if key != "internal.dbms.web_dir_path":  # the image's default, <NEO4J_HOME>/web, is where .browser is mounted
            assert env["NEO4J_" + key.replace("_", "__").replace(".", "_")].strip("'\"") == value, key
    assert "./.browser:/var/lib/neo4j/web" in compose and env["NEO4J_PLUGINS"] == """'["apoc"]'"""


def test_a_new_bundle_removes_those_unused_for_a_week(tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    with zipfile.ZipFile(lib / "neo4j-browser-5.24.0.jar", "w") as jar:
        jar.writestr("browser/", b"")
        jar.writestr("browser/index.html", "<title>Neo4j Browser</title>")
    stale, recent = tmp_path / "browser-stale", tmp_path / "browser-recent"
    for folder, days in ((stale, browser.KEEP_DAYS + 1), (recent, browser.KEEP_DAYS - 1)):
        folder.mkdir()
        os.utime(folder, (time.time() - days * 86_400,) * 2)
    folder = browser.install_bundle(lib)
    assert (folder / browser.ARCHIVE).is_file() and recent.exists() and not stale.exists()
    assert browser.install_bundle(lib) == folder  # built once per Browser jar and guide
