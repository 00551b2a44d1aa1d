"""The local server as Browser and clients see it: advertised addresses that follow graphrec's ports, APOC for
the drawings."""

from __future__ import annotations

import json
import urllib.request

import neo4j
import pytest

from graphrec.server.local import USER, LocalServer

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


def test_apoc_serves_the_virtual_graph_functions(server: LocalServer) -> None:
    with neo4j.GraphDatabase.driver(server.bolt_uri, auth=(USER, server.password())) as driver:
        record = driver.execute_query("RETURN apoc.version() AS version, "
                                      "apoc.create.vNode(['Item'], {id: 1}) AS node").records[0]
    assert record["version"].startswith("5.26") and record["node"]["id"] == 1
