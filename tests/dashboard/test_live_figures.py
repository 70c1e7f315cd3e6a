"""Whole calls through the emulator (in-process, on the app's virtual clock) show on the feed:
a caller waiting, taken by an agent, then rating the call."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from ivr.emulator import Switch, VirtualClock
from ivr.store import Store
from ivr.store.users import UserStore
from ivr.web.twiml import agent_takes_queue
from tests.support.app_client import AppClient
from tests.support.wallboard import sign_in

UK_LINE = "+442079460123"
UK_CALLER = "+447700900123"


@pytest.fixture
def feed(
    wallboard_app: FastAPI, wallboard_client: AppClient, wallboard_users: UserStore
) -> AppClient:
    """A signed-in client whose event stream sends one fresh snapshot, then ends."""
    wallboard_app.state.wallboard_feed.lifetime = 0
    wallboard_app.state.wallboard_feed.snapshots.max_age = 0
    assert sign_in(wallboard_client) == 303
    return wallboard_client


@pytest.fixture
def wallboard_phone(wallboard_app: FastAPI, london_clock: VirtualClock) -> Iterator[Switch]:
    with Switch(wallboard_app, clock=london_clock) as switch:
        yield switch


def snapshot(wallboard_client: AppClient) -> dict[str, Any]:
    response = wallboard_client.get("/dashboard/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    event, data = response.text.split("\n\n")[1].split("\n")
    assert event == "event: snapshot"
    document: dict[str, Any] = json.loads(data.removeprefix("data: "))
    return document


def uk(document: dict[str, Any]) -> dict[str, Any]:
    (line,) = [x for x in document["lines"] if (x["region"], x["language"]) == ("gb", "en-GB")]
    return line


@pytest.mark.slow
def test_a_caller_waiting_for_an_agent_shows_then_leaves_the_board(
    feed: AppClient, wallboard_phone: Switch, wallboard_store: Store, london_clock: VirtualClock
) -> None:
    assert uk(snapshot(feed))["waiting"] == 0
    call = wallboard_phone.dial(UK_CALLER, UK_LINE)
    call.press("0")
    assert call.queue == "gb-en-GB"
    waiting = uk(snapshot(feed))
    queued_at = wallboard_store.call(call.sid).queued_at  # type: ignore[union-attr]
    assert queued_at is not None
    assert waiting["waiting"] == 1 and waiting["calls_today"] == 1
    assert waiting["longest_wait"] == int((london_clock.now() - queued_at).total_seconds())
    assert waiting["agents_open"] is True

    agent = wallboard_phone.dial_twiml(
        agent_takes_queue("gb-en-GB", "/voice/queue/connect", timeout=30),
        from_="client:agent-1",
        talk=60,
    )
    wallboard_phone.run()
    assert agent.ended and not call.ended  # the agent hung up: the caller is asked to rate
    taken = snapshot(feed)
    assert uk(taken)["waiting"] == 0 and uk(taken)["longest_wait"] is None
    assert uk(taken)["calls_today"] == 1 and uk(taken)["abandonment_rate"] == 0
    assert uk(taken)["service_level"] in (0, 1)  # one answered call: in time or not
    (asked,) = taken["after_call"]
    assert (asked["region"], asked["surveys_answered"], asked["surveys_asked"]) == ("gb", 0, 1)
    assert asked["average_rating"] is None

    call.press("4")
    call.silence()  # no comment
    assert call.ended
    (rated,) = snapshot(feed)["after_call"]
    assert (rated["surveys_answered"], rated["surveys_asked"]) == (1, 1)
    assert (rated["average_rating"], rated["comments"]) == (4.0, 0)


@pytest.mark.slow
def test_the_feed_and_the_page_never_show_a_callers_number(
    feed: AppClient, wallboard_phone: Switch
) -> None:
    call = wallboard_phone.dial(UK_CALLER, UK_LINE)
    call.press("0")
    events = feed.get("/dashboard/events").text
    page = feed.get("/dashboard").text
    for shown in (events, page):
        assert "7700900123" not in shown and "+447700" not in shown and "+44 " not in shown
