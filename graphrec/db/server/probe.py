"""Is a local Neo4j server there? Cheap probes of its ports: the Bolt handshake, the HTTP front page, and a
driver login (what `LocalServer.start` waits for)."""

from __future__ import annotations

import socket
import urllib.request

BOLT_HANDSHAKE = bytes.fromhex("6060B017" "00080805" "00000404" "00000000" "00000000")
"""Bolt's preamble and version proposals: 5.8 down to 5.0, 4.4."""


def bolt_answers(port: int) -> bool:
    """Whether a Bolt server on 127.0.0.1:`port` agrees to a protocol version in the handshake. A socket and 20
    bytes, not the driver, so that `graphrec neo4j status` stays fast."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(BOLT_HANDSHAKE)
            reply = b""
            while len(reply) < 4:
                chunk = sock.recv(4 - len(reply))
                if not chunk:
                    return False
                reply += chunk
        return reply != b"\0\0\0\0"
    except OSError:
        return False


def accepts_queries(uri: str, user: str, password: str) -> bool:
    """Whether the driver connects to `uri` and logs in."""
    import neo4j  # here, not at the top: `graphrec neo4j status` never loads the driver

    try:
        with neo4j.GraphDatabase.driver(uri, auth=(user, password)) as driver:
            driver.verify_connectivity()
        return True
    except (neo4j.exceptions.ServiceUnavailable, neo4j.exceptions.SessionExpired, neo4j.exceptions.AuthError,
            OSError):
        return False


def http_answers(port: int) -> bool:
    """Whether 127.0.0.1:`port` serves its front page (Neo4j's HTTP connector)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False
