"""Neo4j Browser as a user meets it, in a real headless Chromium: connect to the session's own server, get
graphrec's style and guide, run the guide's queries and see recommendations drawn, paste every `cypher/` file.

Needs Debian's `chromium` (/usr/bin/chromium) and Playwright for Python (`.ci/setup` installs both); skipped
without them, or when the session's server is not its own (NEO4J_URI, Docker: no graphrec Browser setup).
Screenshots go to `runs/browser/`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphrec.db import cypher
from graphrec.db.runner import QueryRunner
from graphrec.db.server.lifecycle import USER, LocalServer
from graphrec.names import fold_property_name, mips_property_name, property_name
from tests.test_recommend import random_vectors, serve

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parent.parent / "runs" / "browser"
TIMEOUT = 90_000
"""Milliseconds to wait for Browser (loading its 7 MB of JavaScript takes seconds on a busy 2-core machine)."""


@pytest.fixture(scope="module")
def page(local_server: LocalServer | None) -> Iterator[object]:
    """One Browser page, connected to the session's server as a user would: the connect form, then the
    frames Browser opens on connect."""
    if local_server is None:
        pytest.skip("needs the session's own local server (its Browser setup); this session uses NEO4J_URI or Docker")
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium (.ci/setup installs it)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (.ci/setup)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="graphrec-chromium-")
    try:
        with sync_api.sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True,
                viewport={"width": 1400, "height": 1000})
            context.grant_permissions(["clipboard-read", "clipboard-write"])
            page = context.pages[0]
            page.set_default_timeout(TIMEOUT)
            page.goto(local_server.browser_url)
            page.wait_for_selector('input[data-testid="boltaddress"]')
            page.connect_form_url = page.input_value('input[data-testid="boltaddress"]')
            page.fill('input[data-testid="username"]', USER)
            page.fill('input[data-testid="password"]', local_server.password())
            page.click('button[data-testid="connect"]')
            page.wait_for_selector("text=Recommendations straight from the graph")
            yield page
            context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def demo(runner: QueryRunner) -> QueryRunner:
    """A small graph shaped like `graphrec demo`'s, which the files' header defaults name: users 1-6, items
    1001-1030 with titles, group 5001 of users 1-3, and model v1 with 8-dimensional vectors."""
    items = random_vectors(range(1001, 1031), 8, seed=31)
    users = random_vectors(range(1, 7), 8, seed=32)
    serve(runner, users=users, items=items, groups=random_vectors([5001], 8, seed=33),
          interactions=[(u, 1001 + (5 * u + n) % 30) for u in users for n in range(4)],
          memberships=[(1, 5001), (2, 5001), (3, 5001)], group_interactions=[(5001, 1030)],
          item_properties={"title": [f"item {i}" for i in items]})
    runner.run("MATCH (u:User) SET u.name = 'user ' + u.id")
    return runner


def submit(page, text: str) -> None:
    """Paste `text` into the editor as a user would, and run it."""
    page.click("#monaco-main-editor")
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("Control+V")
    page.click('[data-testid="editor-Run"]')


def run(page, text: str) -> object:
    """Submit `text` and return its frame (the newest, on top)."""
    before = page.locator('[data-testid="frame"]').count()
    submit(page, text)
    page.wait_for_function(f"document.querySelectorAll('[data-testid=frame]').length > {before}")
    return page.locator('[data-testid="frame"]').first


def clear(page) -> None:
    """`:clear`: remove every frame."""
    submit(page, ":clear")
    page.wait_for_function("document.querySelectorAll('[data-testid=frame]').length === 0")


def finished(frame, timeout: float = TIMEOUT) -> object:
    """`frame` once its Cypher ran: a result or an error, every status of a multi-statement run, or a single
    `:param` line's parameters set."""
    frame.page.wait_for_function(
        """frame => frame.querySelector('[data-testid=frame-loaded-contents], [data-testid=cypherFrameErrorMessage]')
                    || (frame.querySelector('[data-testid=multi-statement-list-icon]')
                        && ![...frame.querySelectorAll('[data-testid=multi-statement-list-icon]')].some(
                               icon => /pending|waiting/.test(icon.title)))
                    || frame.innerText.includes('Successfully set your parameters')""",
        arg=frame.element_handle(), timeout=timeout)
    return frame


def statuses(frame) -> list[tuple[str, str]]:
    """A multi-statement frame's (statement, status) pairs."""
    titles = frame.locator('[data-testid="multi-statement-list-title"]')
    return [(titles.nth(n).inner_text().strip(),
             titles.nth(n).locator('[data-testid="multi-statement-list-icon"]').get_attribute("title"))
            for n in range(titles.count())]


def captions(frame) -> tuple[set[str], set[str]]:
    """The captions of the drawn nodes and relationships, once the graph view has drawn them."""
    frame.locator("svg g.node").first.wait_for()
    frame.page.wait_for_timeout(1000)  # the force layout settles; captions are drawn with the nodes
    nodes = frame.locator("svg g.node text").all_text_contents()
    rels = frame.locator("svg g.relationship text").all_text_contents()
    return {text.strip() for text in nodes if text.strip()}, {text.strip() for text in rels if text.strip()}


def test_connecting_prefills_this_server_applies_the_style_and_opens_the_guide(page, local_server) -> None:
    assert page.connect_form_url.endswith(f"127.0.0.1:{local_server.bolt_port}")
    commands = page.locator('[data-testid="frame"] [data-testid="frameCommand"]').all_inner_texts()
    assert any(c.startswith(":style http://127.0.0.1:") and c.endswith("/graphrec.grass") for c in commands)
    assert ":play graphrec" in commands
    assert not page.get_by_text("Remote guide error").count() and not page.get_by_text("Could not").count()
    page.screenshot(path=SHOTS / "connected.png")
    style = run(page, ":style")
    style.get_by_text("node.Item").first.wait_for()
    assert 'caption: "{title}"' in style.inner_text()  # Browser writes the style back with double quotes


def test_the_guide_s_queries_run_and_draw_recommendations(page, demo: QueryRunner) -> None:
    clear(page)
    run(page, ":play graphrec")
    guide = page.locator('[data-testid="frame"]').filter(
        has=page.locator('[data-testid="frameCommand"]', has_text=":play graphrec"))
    guide.get_by_text("Recommendations straight from the graph").wait_for()
    slides = {  # title -> what its last block shows: a graph with a caption, or a table with a column
        "graphrec": None, "The data model": ("table", "users"), "A user's neighbourhood": ("graph", "item 1006"),
        "Their recommendations": ("graph", "#1 "), "A group and its members' scores": ("graph", "5001"),
        "Models and versions": ("table", "previous")}
    for slide, title in enumerate(slides, 1):
        if slide > 1:
            guide.locator('[data-testid="nextSlide"]').click()
        guide.locator("h3", has_text=title).wait_for()
        blocks = guide.locator("pre.runnable")
        last = None
        for n in range(blocks.count()):
            blocks.nth(n).locator("i").first.click()  # the block's run icon: runs it in a new frame
            page.wait_for_timeout(300)
            last = finished(page.locator('[data-testid="frame"]').first)
            assert not last.locator('[data-testid="cypherFrameErrorMessage"]').count(), last.inner_text()[:500]
            assert all(status == "Status: success" for _, status in statuses(last)), statuses(last)
        expected = slides[title]
        if expected is not None:
            kind, text = expected
            if kind == "graph":
                nodes, rels = captions(last)
                assert any(text in caption for caption in nodes | rels), (nodes, rels)
                if title == "Their recommendations":
                    assert "1" in nodes and sum(c.startswith("#") for c in rels) == 10
                    assert {c for c in nodes if c.startswith("item ")} and not any("embedding" in c for c in nodes)
                if title == "A group and its members' scores":
                    assert {"1", "2", "3"} <= nodes and "SCORED" not in rels  # scores as captions
            else:
                assert text in last.inner_text()
            last.screenshot(path=SHOTS / f"guide-slide-{slide}.png")
    page.screenshot(path=SHOTS / "guide.png")


def test_every_cypher_file_runs_pasted_whole(page, demo: QueryRunner) -> None:
    """Every file as pasted, one after the other in one multi-statement run (`;` between files), after
    `:params {}` has cleared the parameters: every statement, `:param` line and query, succeeds. That each file
    sets every parameter it uses is checked by cypher.check_header (tests/test_cypher_files.py)."""
    clear(page)
    files = sorted(cypher.CYPHER_DIR.glob("*.cypher"))
    script = ":params {};\n" + "".join(f"{path.read_text(encoding='utf-8').rstrip()}\n;\n" for path in files)
    frame = finished(run(page, script), timeout=4 * TIMEOUT)
    found = statuses(frame)
    failed = [(command, status) for command, status in found if status != "Status: success"]
    frame.screenshot(path=SHOTS / "every-file.png")
    assert not failed, (failed[:3], frame.locator('[data-testid="multi-statement-list-content"]').all_inner_texts())
    expected = 1 + sum(len(cypher.browser_params(p.stem)) + len(cypher.statements(p.stem)) for p in files)
    assert len(found) == expected


def test_the_inspector_shows_readable_properties_before_vectors(page, runner: QueryRunner) -> None:
    """Browser's inspector lists a node's properties by name (DefaultDetailsPane.tsx); write-back's names
    (`~embedding_v…`) sort after every readable one, even one starting with z."""
    vectors = [property_name(1), mips_property_name(1), fold_property_name(1)]
    runner.run("CREATE (i:Item {id: 1001, title: 'item 1001', zone: 'z'}) "
               "FOREACH (name IN $vectors | SET i[name] = $v)", {"vectors": vectors, "v": [0.123456789] * 64})
    clear(page)
    frame = finished(run(page, "MATCH (i:Item {id: 1001}) RETURN i"))
    frame.locator("svg g.node").first.wait_for()
    page.wait_for_timeout(1000)
    frame.locator("svg g.node").first.click()
    rows = frame.locator('[data-testid="viz-details-pane-properties-table"] tr')
    rows.first.wait_for()
    keys = [rows.nth(n).locator("td").first.inner_text() for n in range(rows.count())]
    frame.screenshot(path=SHOTS / "inspector.png")
    shown = [key for key in keys if not key.startswith("<")]  # <id> and <elementId> come first whatever the names
    assert shown[:3] == ["id", "title", "zone"] and sorted(shown[3:]) == sorted(vectors), keys
