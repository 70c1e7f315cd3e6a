"""`ivr graph --stats`: recorded paths and outcomes counted box by box on the sample menus."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.checks.flow_stats import (
    BoxCounts,
    count_calls,
    follow,
    since_duration,
    summary,
    with_counts,
)
from ivr.checks.graph import to_dot, to_mermaid, tree
from ivr.checks.menu_walk import MenuWalk, region_walks
from ivr.config.flows import FlowBook
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.store.journeys import PathTally
from tests.support.moments import instant

OPEN = "2026-03-02T10:00+00:00"  # Monday morning in London
CLOSED = "2026-03-01T22:00+00:00"  # Sunday night


@pytest.fixture(scope="module")
def gb_open(book: RegionBook, catalogue: Catalogue, flows: FlowBook) -> MenuWalk:
    [walk] = region_walks(book, catalogue, flows, instant(OPEN), regions=["gb"])
    return walk


@pytest.fixture(scope="module")
def gb_closed(book: RegionBook, catalogue: Catalogue, flows: FlowBook) -> MenuWalk:
    [walk] = region_walks(book, catalogue, flows, instant(CLOSED), regions=["gb"])
    return walk


def gb(path: str, outcome: str = "self-served", calls: int = 1) -> PathTally:
    return PathTally("gb", "en-GB", path, outcome, calls)


def boxes_of(walk: MenuWalk, tallies: list[PathTally]) -> dict[str, BoxCounts]:
    return count_calls([walk], tallies).trees[f"{walk.region.id} {walk.language}"]


# Paths as the webhooks keep them (ivr.web.routes.calls), with what each caller did.
OPEN_HOUR_CALLS = [
    gb("", calls=4),  # hung up during the welcome or the main menu
    gb("main:1", calls=10),  # heard the password guidance and hung up: served there
    gb("main:1 password:#", calls=2),  # back to the main menu, hung up there
    gb("main:0", "bridged", calls=5),  # an agent at once
    gb("main:3 tx:1", calls=3),  # the slow-transaction guidance
    gb("main:3 tx:0 ref:# confirm:1", "abandoned", calls=2),  # keyed a reference, queued
    gb("main:3 tx:0 ref:#", "queued", calls=1),  # no reference ("*"): queued from ref
    gb("main:3 tx:0", calls=6),  # asked for the reference, hung up
    gb("main:4 pending:0 ref:#", "bridged", calls=1),  # the priority line's reference
    gb("main:~", calls=2),  # said something the menu did not take, hung up
    gb("main:5 main:5 main:5", "queued", calls=1),  # three misses: taken to an agent
]


def test_open_hour_callers_counted_box_by_box(gb_open: MenuWalk) -> None:
    counts = boxes_of(gb_open, OPEN_HOUR_CALLS)
    assert counts == {
        "main": BoxCounts(reached=37, served=6, left=8),
        "password": BoxCounts(reached=12, served=10, left=0),
        "tx": BoxCounts(reached=12, served=0, left=0),
        "tx_slow": BoxCounts(reached=3, served=3, left=0),
        "ref": BoxCounts(reached=9, served=1, left=6),
        "confirm": BoxCounts(reached=2, served=2, left=0),
        "pending": BoxCounts(reached=1, served=0, left=0),
        "ref (pending)": BoxCounts(reached=1, served=1, left=0),
    }


def test_a_keyed_reference_counts_by_what_came_after_it(gb_open: MenuWalk) -> None:
    walk = gb_open
    # A number was read back: the caller reached the confirmation, and hung up there.
    read_back = follow(walk, "main:3 tx:0 ref:#", "self-served")
    assert read_back.boxes == ("main", "tx", "ref", "confirm")
    assert (read_back.ended, read_back.how) == ("confirm", "left")
    # Queued straight from the reference question: "*", kept as "#" like any key there.
    queued = follow(walk, "main:3 tx:0 ref:#", "queued")
    assert (queued.boxes, queued.ended, queued.how) == (("main", "tx", "ref"), "ref", "served")
    # Corrected the number once: back at the reference question, then the agent.
    again = follow(walk, "main:3 tx:0 ref:# confirm:2 ref:# confirm:1", "bridged")
    assert (again.boxes, again.ended) == (("main", "tx", "ref", "confirm"), "confirm")


def test_speech_silence_and_misses_leave_the_caller_where_they_were(gb_open: MenuWalk) -> None:
    walk = gb_open
    assert follow(walk, "main:- main:~", "self-served").ended == "main"
    # Where speech took the caller shows in their next answer.
    spoken = follow(walk, "main:~ tx:2", "self-served")
    assert (spoken.boxes, spoken.ended, spoken.how) == (
        ("main", "tx", "tx_failed"),
        "tx_failed",
        "served",
    )
    assert follow(walk, "main:* main:7", "self-served").how == "left"


def test_an_error_ends_a_call_neither_served_nor_left(gb_open: MenuWalk) -> None:
    counts = boxes_of(gb_open, [gb("main:3", "error", calls=3)])
    assert counts == {"main": BoxCounts(3, 0, 0), "tx": BoxCounts(3, 0, 0)}


def test_closed_hours_callers_are_served_by_the_other_ways(gb_closed: MenuWalk) -> None:
    counts = boxes_of(
        gb_closed,
        [
            gb("main:0 ways:1 cb:1", "callback", calls=4),  # their own number
            gb("main:0 ways:1 cb:2 cb_num:# cb_ok:1", "callback", calls=1),  # another one
            gb("main:0 ways:1 cb:2 cb_num:#", calls=2),  # hung up at the number read back
            gb("main:0 ways:2", "voicemail", calls=3),
            gb("main:0 ways:3", calls=5),  # the other channels, then goodbye
            gb("main:0", calls=6),  # hung up at the ways menu
            gb("main:1 password:0", calls=1),  # from a guidance: the same ways menu is drawn
        ],
    )
    assert counts == {
        "main": BoxCounts(22, 0, 0),
        "ways": BoxCounts(22, 8, 7),
        "cb": BoxCounts(7, 4, 0),
        "cb_num": BoxCounts(3, 0, 0),
        "cb_ok": BoxCounts(3, 1, 2),
        "password": BoxCounts(1, 0, 0),
    }


def test_the_language_chosen_picks_the_tree(
    book: RegionBook, catalogue: Catalogue, flows: FlowBook
) -> None:
    walks = region_walks(book, catalogue, flows, instant("2026-03-02T10:00+08:00"), regions=["cn"])
    counted = count_calls(
        walks,
        [
            # The language question is asked in the line's first language, so that is the
            # record's language until the caller answers the next question.
            PathTally("cn", "zh-CN", "lang:2", "self-served", 3),
            PathTally("cn", "en-US", "lang:2 main:0", "bridged", 2),
            PathTally("cn", None, "", "self-served", 5),  # hung up before choosing
            PathTally("cn", "zh-CN", "lang:1 main:1", "self-served", 1),
        ],
    )
    assert counted.trees["cn en-US"] == {
        "lang": BoxCounts(5, 0, 0),
        "main": BoxCounts(5, 2, 3),
    }
    assert counted.trees["cn zh-CN"] == {
        "lang": BoxCounts(6, 0, 5),
        "main": BoxCounts(1, 0, 0),
        "password": BoxCounts(1, 1, 0),
    }


def test_refused_calls_and_other_regions_are_not_counted(gb_open: MenuWalk) -> None:
    counted = count_calls(
        [gb_open],
        [
            gb("main:1", calls=2),
            gb("rejected:blocked", "rejected", calls=4),
            PathTally("jp", "ja-JP", "lang:1", "self-served", 3),  # not drawn
            PathTally(None, None, "", "self-served", 1),  # a status callback alone
            PathTally("gb", "de-DE", "main:1", "self-served", 1),  # no longer offered
        ],
    )
    assert (counted.counted, counted.refused, counted.elsewhere) == (2, 4, 5)
    assert counted.trees == {
        "gb en-GB": {"main": BoxCounts(2, 0, 0), "password": BoxCounts(2, 2, 0)}
    }


def test_boxes_not_drawn_at_this_hour_are_named(gb_open: MenuWalk) -> None:
    walk = gb_open  # agents open: no ways menu drawn
    counted = count_calls([walk], [gb("main:0 ways:2", "voicemail", calls=2)])
    assert counted.trees["gb en-GB"]["ways"] == BoxCounts(2, 2, 0)
    text = summary(counted, [tree(walk)], instant(OPEN) - timedelta(days=7), instant(OPEN))
    assert text.splitlines() == [
        "calls from 2026-02-23 10:00 to 2026-03-02 10:00 UTC: 2 counted, 0 refused at screening,"
        " 0 of other regions or languages",
        "gb en-GB: not in this drawing (try --closed or --at): ways (2 reached)",
    ]


KEYS = ["0", "1", "2", "3", "4", "9", "*", "#", "~", "-"]
NODES = ["main", "password", "tx", "tx_slow", "pending", "ref", "confirm", "ways", "lang"]
OUTCOMES = ["self-served", "queued", "bridged", "abandoned", "callback", "voicemail", "error"]
paths = st.lists(
    st.builds(lambda node, key: f"{node}:{key}", st.sampled_from(NODES), st.sampled_from(KEYS)),
    max_size=6,
).map(" ".join)


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(paths, st.sampled_from(OUTCOMES), st.integers(1, 5)), max_size=8))
def test_no_box_serves_or_loses_more_callers_than_reached_it(
    gb_open: MenuWalk, calls: list[tuple[str, str, int]]
) -> None:
    counted = count_calls([gb_open], [gb(path, outcome, n) for path, outcome, n in calls])
    boxes = counted.trees["gb en-GB"]
    assert all(box.reached >= box.served + box.left for box in boxes.values())
    # Every call counted starts at the main menu and ends at one box.
    assert boxes.get("main", BoxCounts()).reached == counted.counted
    assert sum(box.served + box.left for box in boxes.values()) <= counted.counted


# -- drawn -----------------------------------------------------------------------------------
def test_the_counts_are_a_second_label_line_and_drop_off_a_red_pen(gb_open: MenuWalk) -> None:
    plain = tree(gb_open)
    drawn = with_counts(plain, {"main": BoxCounts(120, 30, 12), "tx": BoxCounts(10, 0, 5)})
    dot = to_dot([drawn])
    assert (
        '"gb en-GB/main" [label="main\\nMain menu.\\n120 reached · 30 served · 12 left",'
        ' penwidth=1.4, color="#330000"];'
    ) in dot
    # Half of its callers hung up at tx: as red as it gets.
    assert 'penwidth=3.0, color="#ff0000"];' in dot
    # A box nobody reached has its zeros and no pen.
    assert (
        '[label="security\\nHere\'s how to keep your account secure.\\n0 reached · 0 served · 0 left"];'
        in dot
    )
    assert "reached" not in to_dot([plain]) and "penwidth" not in to_dot([plain])
    assert '<br/>120 reached · 30 served · 12 left"]' in to_mermaid([drawn])


def test_graphviz_reads_the_counted_dot(gb_open: MenuWalk) -> None:
    dot = shutil.which("dot")
    if dot is None:
        pytest.skip("Graphviz is not installed (apt-get install graphviz)")
    drawn = with_counts(tree(gb_open), {"main": BoxCounts(9, 2, 3), "tx": BoxCounts(2, 0, 2)})
    svg = subprocess.run([dot, "-Tsvg"], input=to_dot([drawn]).encode(), capture_output=True)
    assert svg.returncode == 0 and svg.stderr == b"", svg.stderr
    assert b"9 reached \xc2\xb7 2 served \xc2\xb7 3 left" in svg.stdout
    assert b'stroke="#aa0000"' in svg.stdout and b'stroke="#ff0000"' in svg.stdout


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("24h", timedelta(hours=24)),
        ("30m", timedelta(minutes=30)),
    ],
)
def test_since_takes_days_weeks_hours_or_minutes(text: str, length: timedelta) -> None:
    assert since_duration(text) == length


@pytest.mark.parametrize(
    "text", ["0x", "7", "d", "7y", "-1d", "1.5h", "7d12h", "0d", "3651d", "٧d"]
)
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="give a duration"):
        since_duration(text)
