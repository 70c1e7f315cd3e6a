"""The wallboard's announcements panel: signed-in operators set and cancel announcements, and
callers of the same service (through the emulator, in-process) hear the change at once."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from ivr.emulator import Call, Switch, VirtualClock
from ivr.engine.line_state import Kind
from ivr.store import Store
from ivr.store.announcements import AnnouncementStore
from ivr.store.users import UserStore
from tests.support.app_client import AppClient
from tests.support.wallboard import ORIGIN, USER, sign_in

UK_LINE, UK_CALLER = "+442079460123", "+447700900123"
MAIN_MENU = "Main menu."
CLOSED = "We're sorry. Our advisers can't take calls at the moment."
CALLBACK_OFFER = (
    "To have an adviser call you back as soon as one is free, press 1, or say: call me back."
)
SAME_ORIGIN = {"Origin": ORIGIN}


@pytest.fixture
def operator(wallboard_client: AppClient, wallboard_users: UserStore) -> AppClient:
    assert sign_in(wallboard_client) == 303
    return wallboard_client


@pytest.fixture
def wallboard_phone(wallboard_app: FastAPI, london_clock: VirtualClock) -> Iterator[Switch]:
    with Switch(wallboard_app, clock=london_clock) as switch:
        yield switch


@pytest.fixture
def announcements(wallboard_store: Store) -> AnnouncementStore:
    return AnnouncementStore(wallboard_store.engine)


def set_announcement(wallboard_client: AppClient, **fields: str) -> httpx.Response:
    form = {"region": "gb", "language": "all", "kind": "message", "text": "", "for": "2h"}
    return wallboard_client.post(
        "/dashboard/announcements", data={**form, **fields}, headers=SAME_ORIGIN
    )


def cancel(wallboard_client: AppClient, announcement_id: int) -> httpx.Response:
    path = f"/dashboard/announcements/{announcement_id}/cancel"
    return wallboard_client.post(path, headers=SAME_ORIGIN)


def uk_caller_asks_for_an_agent(wallboard_phone: Switch) -> Call:
    call = wallboard_phone.dial(UK_CALLER, UK_LINE)
    call.press("0")
    return call


def test_anonymous_visitors_get_no_panel_and_cannot_change_anything(
    wallboard_client: AppClient,
    wallboard_users: UserStore,
    announcements: AnnouncementStore,
    london_clock: VirtualClock,
) -> None:
    assert wallboard_client.get("/dashboard/announcements").status_code == 401
    assert set_announcement(wallboard_client, text="Scam alert").status_code == 401
    no_origin = wallboard_client.post(
        "/dashboard/announcements", data={"region": "gb", "for": "1h"}
    )
    assert no_origin.status_code == 403
    assert announcements.not_over(london_clock.now()) == []
    assert cancel(wallboard_client, 1).status_code == 401


def test_a_form_posted_from_another_site_is_refused(
    operator: AppClient, announcements: AnnouncementStore, london_clock: VirtualClock
) -> None:
    form = {"region": "gb", "language": "all", "kind": "closed", "for": "1h"}
    for headers in ({"Origin": "https://evil.example"}, {"Referer": "https://evil.example/x"}, {}):
        response = operator.post("/dashboard/announcements", data=form, headers=headers)
        assert response.status_code == 403
    assert announcements.not_over(london_clock.now()) == []
    saved = set_announcement(operator, kind="closed", text="")
    assert saved.status_code == 303
    (closure,) = announcements.not_over(london_clock.now())
    refused = operator.post(
        f"/dashboard/announcements/{closure.id}/cancel",
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    assert announcements.not_over(london_clock.now()) == [closure]


def test_the_panel_offers_the_configured_regions_languages_and_kinds(operator: AppClient) -> None:
    panel = operator.get("/dashboard/announcements")
    assert panel.status_code == 200 and panel.headers["content-type"].startswith("text/html")
    assert "No announcement in force." in panel.text
    assert '<form method="post" action="/dashboard/announcements"' in panel.text
    assert '<option value="jp">Japan (jp)</option>' in panel.text
    assert '<option value="jp:ja-JP">jp: ja-JP</option>' in panel.text
    assert '<option value="all">all</option>' in panel.text
    for kind in ("message", "closed", "callback-only"):
        assert f'<option value="{kind}">{kind}</option>' in panel.text
    assert 'name="for"' in panel.text and 'name="until"' in panel.text


@pytest.mark.slow
def test_a_message_set_on_the_wallboard_is_heard_before_the_main_menu_at_once(
    operator: AppClient,
    wallboard_phone: Switch,
    wallboard_app: FastAPI,
    announcements: AnnouncementStore,
    london_clock: VirtualClock,
) -> None:
    before = wallboard_phone.dial(UK_CALLER, UK_LINE)
    assert not before.hears("Card payments")
    before.silence()  # the welcome listens for keys; then the main menu
    assert before.hears(MAIN_MENU)
    before.hangup()
    live = wallboard_app.state.services.announcements
    assert live.claim(london_clock.now())  # the service has just read them: next read in 5 s
    live.refresh(london_clock.now())

    text = "Card payments are delayed this morning. We're on it."
    response = set_announcement(operator, language="gb:en-GB", text=text, **{"for": "90m"})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    (saved,) = announcements.not_over(london_clock.now())
    assert (saved.region, saved.language, saved.kind, saved.created_by) == (
        "gb",
        "en-GB",
        Kind.MESSAGE,
        USER,
    )
    panel = operator.get("/dashboard/announcements").text
    assert f'<tr data-announcement="{saved.id}">' in panel
    assert "<td>en-GB</td><td>message</td>" in panel
    assert "Card payments are delayed this morning. We&#x27;re on it." in panel
    assert "<td>2026-03-02T11:30+00:00</td>" in panel  # London's time, 90 minutes on
    assert f'action="/dashboard/announcements/{saved.id}/cancel"' in panel

    # Within those 5 s: set through this replica, it reads them again at once.
    call = wallboard_phone.dial(UK_CALLER, UK_LINE)
    heard = call.turn
    assert heard[-1] == text  # the end of the welcome, before the main menu
    call.silence()
    assert call.turn[0] == MAIN_MENU
    call.press("1")  # self-service is untouched
    assert call.hears("Here's how to reset a forgotten password.")


def test_times_are_shown_in_the_regions_own_time_zone(operator: AppClient) -> None:
    response = set_announcement(
        operator, region="jp", language="jp:ja-JP", text="本日、カード決済に遅れが出ています。"
    )
    assert response.status_code == 303
    panel = operator.get("/dashboard/announcements").text
    assert "<td>ja-JP</td>" in panel
    assert "<td>2026-03-02T21:00+09:00</td>" in panel  # 10:00 in London is 19:00 in Tokyo
    until = set_announcement(
        operator, until="2026-03-02T12:00+01:00", text="Scam alert", **{"for": ""}
    )
    assert until.status_code == 303
    assert "<td>2026-03-02T11:00+00:00</td>" in operator.get("/dashboard/announcements").text


@pytest.mark.slow
def test_closing_the_queues_on_the_wallboard_sends_callers_to_the_other_ways_until_cancelled(
    operator: AppClient,
    wallboard_phone: Switch,
    announcements: AnnouncementStore,
    london_clock: VirtualClock,
) -> None:
    assert set_announcement(operator, kind="closed", **{"for": "1h"}).status_code == 303
    (closure,) = announcements.not_over(london_clock.now())
    assert "<td>all</td><td>closed</td><td></td>" in operator.get("/dashboard/announcements").text

    turned_away = uk_caller_asks_for_an_agent(wallboard_phone)
    assert turned_away.hears(CLOSED) and turned_away.hears(CALLBACK_OFFER)
    assert turned_away.queue is None
    turned_away.hangup()

    cancelled = cancel(operator, closure.id)
    assert cancelled.status_code == 303 and cancelled.headers["location"] == "/dashboard"
    ended = announcements.get(closure.id)
    assert ended is not None and ended.cancelled_by == USER
    assert "No announcement in force." in operator.get("/dashboard/announcements").text
    welcomed = uk_caller_asks_for_an_agent(wallboard_phone)
    assert not welcomed.hears(CLOSED) and welcomed.queue == "gb-en-GB"

    again = cancel(operator, closure.id)
    assert again.status_code == 409 and "it has already ended" in again.text
    unknown = cancel(operator, 999)
    assert unknown.status_code == 404 and "no such announcement" in unknown.text


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ({"for": "soon"}, "For: expected a duration like 30m, 2h or 1d, not &#x27;soon&#x27;"),
        ({"for": "8d"}, "For / until: at most 7 days after the start; set it again then"),
        ({"for": ""}, "For / until: give either an end time or a duration"),
        ({"until": "2026-03-02T18:00+00:00"}, "For / until: give either an end time or a"),
        ({"for": "", "until": "2026-03-02T18:00"}, "Until: expected a time with its UTC offset"),
        ({"for": "", "until": "2026-03-02T09:00+00:00"}, "the expiry must be after the start"),
        ({"text": ""}, "Text: a message needs the text to read to callers"),
        ({"kind": "closed"}, "Text: a closed queue plays its own notice in every language"),
        ({"kind": "shut"}, "Kind: expected one of message, closed, callback-only"),
        ({"region": "mars"}, "Region: unknown region &#x27;mars&#x27;"),
        ({"language": "jp:ja-JP"}, "Language: jp:ja-JP is a language of jp, not of gb"),
        ({"language": "fr-FR"}, "Language: gb offers en-GB, not &#x27;fr-FR&#x27;"),
    ],
)
def test_a_refused_announcement_names_the_field_and_the_reason(
    operator: AppClient,
    announcements: AnnouncementStore,
    london_clock: VirtualClock,
    fields: dict[str, str],
    shown: str,
) -> None:
    response = set_announcement(operator, **{"text": "Scam alert", **fields})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert shown in response.text
    assert "Traceback" not in response.text
    assert 'href="/dashboard"' in response.text
    assert announcements.not_over(london_clock.now()) == []


def test_what_operators_type_is_escaped(
    operator: AppClient, announcements: AnnouncementStore, london_clock: VirtualClock
) -> None:
    typed = "<script>alert(1)</script> Fees & limits"
    assert set_announcement(operator, text=typed).status_code == 303
    panel = operator.get("/dashboard/announcements").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Fees &amp; limits" in panel
    assert "<script>" not in panel and "Fees & limits" not in panel

    refused = set_announcement(operator, text="x", **{"for": "<script>&"})
    assert refused.status_code == 400
    assert "not &#x27;&lt;script&gt;&amp;&#x27;" in refused.text and "<script>" not in refused.text
    region = set_announcement(operator, region='"><script>', text="x")
    assert region.status_code == 400
    assert "&quot;&gt;&lt;script&gt;" in region.text and "<script>" not in region.text
    assert len(announcements.not_over(london_clock.now())) == 1
