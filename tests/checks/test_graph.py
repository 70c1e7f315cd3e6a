"""`ivr graph`: the menu tree drawn from the engine, checked against whole emulated calls."""

from __future__ import annotations

import shutil
import subprocess
from collections import deque
from collections.abc import Iterator

import phonenumbers
import pytest
from pydantic import SecretStr

from ivr.checks.graph import START, Tree, to_dot, to_mermaid, tree
from ivr.checks.menu_walk import (
    CALLBACK,
    GOODBYE,
    QUEUE,
    VOICE_MESSAGE,
    region_walks,
    sample_caller,
)
from ivr.config.flow_file import load_flows
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.config.settings import Settings
from ivr.emulator import Switch, VirtualClock
from ivr.emulator.call import Call
from ivr.web.app import create_app
from tests.support.moments import instant
from tests.support.repository import ROOT

TOKEN = "graph-token"
PUBLIC_URL = "https://ivr.example.com"
OPEN = "2026-03-02T10:00+08:00"  # Monday morning in Shanghai
CLOSED = "2026-03-01T22:00+00:00"  # Sunday night everywhere
REFERENCE = "12345678"


def drawn(book: RegionBook, catalogue: Catalogue, region: str, language: str, at: str) -> Tree:
    flows = load_flows(ROOT / "flows.toml", book)
    [walk] = region_walks(book, catalogue, flows, instant(at), regions=[region], language=language)
    return tree(walk)


def arrows_from(one: Tree, box: str) -> dict[str, str]:
    return {a.keys: a.target for a in one.arrows if a.source == box}


def test_mandarin_callers_at_an_open_hour_see_the_menus_and_queues(
    book: RegionBook, catalogue: Catalogue
) -> None:
    one = drawn(book, catalogue, "cn", "zh-CN", OPEN)
    assert one.caption == "cn zh-CN, agents open (Mon 2026-03-02 10:00 Asia/Shanghai)"
    assert arrows_from(one, START) == {"": "lang"}
    # 2 is English: another tree; 0 is a person in the line's first language.
    assert arrows_from(one, "lang") == {"1": "main", "0": "queue cn-zh-CN"}
    assert arrows_from(one, "main") == {
        "1": "password",
        "2": "security",
        "3": "tx",
        "4": "pending",
        "0": "queue cn-zh-CN",
    }
    # Pending transactions go to the priority queue, whichever way the caller gets there.
    assert arrows_from(one, "ref (pending)") == {
        "*": "queue cn-zh-CN-priority",
        "digits": "confirm (pending)",
    }
    assert arrows_from(one, "ref") == {"*": "queue cn-zh-CN", "digits": "confirm"}
    labels = {box.id: box.label for box in one.boxes}
    assert labels["main"] == "main\n主菜单。"


def test_the_callback_questions_after_each_guidance_are_drawn_once(
    book: RegionBook, catalogue: Catalogue
) -> None:
    one = drawn(book, catalogue, "gb", "en-GB", CLOSED)
    assert "agents closed" in one.caption
    ids = [box.id for box in one.boxes]
    assert [i for i in ids if i.startswith(("ways", "cb"))] == ["ways", "cb", "cb_num", "cb_ok"]
    assert arrows_from(one, "ways") == {
        "1": "cb",
        "2": VOICE_MESSAGE,
        "3": GOODBYE,
        "#": "main",
    }
    assert {a.target for a in one.arrows if a.keys == "0"} == {"ways"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("region", "language", "at"),
    [("cn", "zh-CN", OPEN), ("hk", "en-GB", OPEN), ("gb", "en-GB", CLOSED)],
)
def test_every_end_of_the_tree_is_where_a_call_pressing_its_keys_ends(
    book: RegionBook,
    catalogue: Catalogue,
    settings: Settings,
    region: str,
    language: str,
    at: str,
) -> None:
    one = drawn(book, catalogue, region, language, at)
    caller, line = sample_caller(book, book.regions[region])
    ends = [box.id for box in one.boxes if box.end]
    assert ends
    for end in ends:
        keys = list(_path_to(one, end, _national(caller)))
        with _phone(settings, at) as phone:
            call = phone.dial(caller, line, at=at)
            for key in keys:
                call.press(key)
            assert _where(call) == end, (end, keys, call.transcript)


def _path_to(one: Tree, end: str, national: str) -> Iterator[str]:
    """The keys of a shortest path from the call's start to `end`, as a caller presses them."""
    came_from: dict[str, tuple[str, str]] = {}
    todo = deque([START])
    while todo:
        box = todo.popleft()
        for arrow in (a for a in one.arrows if a.source == box):
            if arrow.target not in came_from and arrow.target != START:
                came_from[arrow.target] = (box, arrow.keys)
                todo.append(arrow.target)
    path: list[str] = []
    box = end
    while box != START:
        box, keys = came_from[box]
        if keys == "digits":
            path.append((national if box.startswith("cb_num") else REFERENCE) + "#")
        elif keys:
            path.append(keys.split(" / ")[0])
    return reversed(path)


def _national(number: str) -> str:
    parsed = phonenumbers.parse(number)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in national if ch.isdigit())


def _where(call: Call) -> str:
    types = [event.type for event in call.events]
    if call.queue is not None:
        return QUEUE + call.queue
    if "recording" in types:  # the caller is asked for a message after the tone
        return VOICE_MESSAGE
    if any("/voice/callback/book" in getattr(e, "url", "") for e in call.events):
        return CALLBACK
    assert call.ended, call.transcript
    return GOODBYE


def _phone(settings: Settings, at: str) -> Switch:
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(TOKEN), "public_url": PUBLIC_URL}
    )
    clock = VirtualClock(at)
    return Switch(
        create_app(signed, clock=clock), clock=clock, auth_token=TOKEN, public_url=PUBLIC_URL
    )


# -- drawing ---------------------------------------------------------------------------------
def test_mermaid_writes_keys_and_quotes_as_entities(book: RegionBook, catalogue: Catalogue) -> None:
    text = to_mermaid([drawn(book, catalogue, "gb", "en-GB", "2026-03-02T10:00+00:00")])
    assert text.startswith("flowchart LR\n")
    assert '-->|"#35;"|' in text  # '#' back to the main menu
    assert 't0n0(("call"))' in text and '(["queue gb-en-GB"])' in text
    assert "Here#quot;s" not in text and "Here's how to reset a forgotten password." in text


def test_dot_is_one_cluster_per_region_and_language(book: RegionBook, catalogue: Catalogue) -> None:
    trees = [drawn(book, catalogue, "cn", language, OPEN) for language in ("zh-CN", "en-US")]
    text = to_dot(trees)
    assert text.count("subgraph cluster_") == 2
    assert '"cn zh-CN/main" -> "cn zh-CN/queue cn-zh-CN" [label="0"];' in text
    assert '"cn en-US/lang" -> "cn en-US/main" [label="2"];' in text


def test_graphviz_reads_the_dot(book: RegionBook, catalogue: Catalogue) -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("Graphviz is not installed (apt-get install graphviz)")
    one = drawn(book, catalogue, "jp", "ja-JP", OPEN)
    svg = subprocess.run([dot, "-Tsvg"], input=to_dot([one]).encode(), capture_output=True)
    assert svg.returncode == 0 and svg.stderr == b"", svg.stderr
    assert svg.stdout.count(b'class="node"') == len(one.boxes)
    assert svg.stdout.count(b'class="edge"') == len(one.arrows)
