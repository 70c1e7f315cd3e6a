"""The wallboard's figures after the call, per region: survey answers and disposition counts,
from call records; and the same figures on the live feed, from the store's own writes."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI

from ivr.config.regions import RegionBook
from ivr.dashboard.figures import AfterCallFigures, Snapshot, line_figures
from ivr.emulator import VirtualClock
from ivr.store import Store
from ivr.store.reports_after_call import CodeCount
from ivr.store.repository import CallRecord
from ivr.store.users import UserStore
from tests.support.after_call import taken_call
from tests.support.app_client import AppClient
from tests.support.moments import instant
from tests.support.wallboard import sign_in

# Monday 2 March 2026: 10:00 in London, 19:00 in Tokyo.
NOW = instant("2026-03-02T10:00+00:00")
TOKYO_MIDNIGHT = instant("2026-03-02T00:00+09:00")


def call(
    sid: int, region: str | None = "gb", language: str | None = "en-GB", **after: Any
) -> CallRecord:
    """A call Ana took in London half an hour ago, with what happened after it."""
    return taken_call(sid, region, language, **{"started": NOW - timedelta(minutes=30), **after})


def after_call(book: RegionBook, calls: list[CallRecord]) -> dict[str, AfterCallFigures]:
    snapshot = line_figures(book, NOW, calls, [], {}, None)
    return {region.region: region for region in snapshot.after_call}


def test_a_regions_survey_answers_and_codes_over_all_its_languages(book: RegionBook) -> None:
    calls = [
        call(1, "jp", "ja-JP", disposition="password_reset", asked=True, rating=5, comment=True),
        call(2, "jp", "en-US", disposition="password_reset", asked=True, rating=4),
        call(3, "jp", "ja-JP", disposition="skipped", asked=True),
        call(4, "jp", "ja-JP", disposition="follow_up"),
        call(5, "jp", None),  # no agent took it: nothing after the call
    ]
    jp = after_call(book, calls)["jp"]
    assert (jp.region_name, jp.survey) == ("Japan", True)
    assert (jp.surveys_asked, jp.surveys_answered, jp.comments) == (3, 2, 1)
    assert jp.average_rating == 4.5
    assert jp.dispositioned == 4
    # The region's own order of codes (follow_up after password_reset), "skipped" last.
    assert jp.dispositions == (
        CodeCount("password_reset", 2, 0.5),
        CodeCount("follow_up", 1, 0.25),
        CodeCount("skipped", 1, 0.25),
    )


def test_only_regions_with_something_after_the_call_today_are_listed_in_file_order(
    book: RegionBook,
) -> None:
    calls = [
        call(1, "gb", "en-GB", asked=True),
        call(2, "jp", "ja-JP", disposition="other"),
        call(3, "us", "en-US"),  # a call, but nothing after it
        call(4, "atlantis", "en-US", disposition="other"),  # not a region of the file
    ]
    listed = list(after_call(book, calls))
    order = [rid for rid in book.regions if rid in listed]
    assert listed == order and set(listed) == {"gb", "jp"}


def test_today_is_the_regions_own_day(book: RegionBook) -> None:
    calls = [
        call(1, "jp", "ja-JP", started=TOKYO_MIDNIGHT - timedelta(minutes=1), asked=True),
        call(2, "jp", "ja-JP", started=TOKYO_MIDNIGHT + timedelta(minutes=1), rating=3),
    ]
    jp = after_call(book, calls)["jp"]
    assert (jp.surveys_asked, jp.surveys_answered, jp.average_rating) == (1, 1, 3.0)


def test_nobody_answered_has_no_rating(book: RegionBook) -> None:
    gb = after_call(book, [call(1, asked=True), call(2, asked=True)])["gb"]
    assert (gb.surveys_answered, gb.surveys_asked, gb.average_rating) == (0, 2, None)
    assert gb.dispositions == () and gb.dispositioned == 0


def test_a_region_that_does_not_ask_says_so(book: RegionBook) -> None:
    quiet = replace(book.regions["gb"], survey=False)
    without_survey = replace(book, regions={**book.regions, "gb": quiet})
    gb = after_call(without_survey, [call(1, disposition="other")])["gb"]
    assert gb.survey is False and gb.surveys_asked == 0


def test_the_feed_document_carries_them_and_no_recording_or_number(book: RegionBook) -> None:
    calls = [call(1, disposition="other", asked=True, rating=2, comment=True)]
    document = line_figures(book, NOW, calls, [], {}, None).to_json()
    assert "api.twilio.com" not in document and "7700900123" not in document
    (gb,) = json.loads(document)["after_call"]
    assert gb == {
        "region": "gb",
        "region_name": "United Kingdom and Ireland",
        "survey": True,
        "surveys_asked": 1,
        "surveys_answered": 1,
        "average_rating": 2.0,
        "comments": 1,
        "dispositioned": 1,
        "dispositions": [{"code": "other", "count": 1, "share": 1.0}],
    }


def test_a_snapshot_without_figures_after_the_call_says_none() -> None:
    assert json.loads(Snapshot(NOW, 60, ()).to_json())["after_call"] == []


# -- on the live feed, from the store's writes ----------------------------------------------
@pytest.fixture
def feed(
    wallboard_app: FastAPI, wallboard_client: AppClient, wallboard_users: UserStore
) -> AppClient:
    """A signed-in client whose event stream sends one fresh snapshot, then ends."""
    wallboard_app.state.wallboard_feed.lifetime = 0
    wallboard_app.state.wallboard_feed.snapshots.max_age = 0
    assert sign_in(wallboard_client) == 303
    return wallboard_client


def after_call_on_the_feed(feed: AppClient) -> list[dict[str, Any]]:
    response = feed.get("/dashboard/events")
    event, data = response.text.split("\n\n")[1].split("\n")
    assert event == "event: snapshot"
    regions: list[dict[str, Any]] = json.loads(data.removeprefix("data: "))["after_call"]
    return regions


def test_dispositions_and_survey_answers_reach_the_feed(
    feed: AppClient, wallboard_store: Store, london_clock: VirtualClock
) -> None:
    assert after_call_on_the_feed(feed) == []
    now = london_clock.now()
    for n, code, rating in [(1, "password_reset", 5), (2, "skipped", None), (3, "other", 4)]:
        sid = f"CA{n:032d}"
        wallboard_store.record_step(sid, "+447700900123", "gb", "en-GB", "s1", "main:0", now)
        wallboard_store.record_disposition(sid, code, "ana", now)
        wallboard_store.record_survey(sid, now)
        if rating is not None:
            wallboard_store.record_survey(sid, now, rating=rating)
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"
    wallboard_store.record_comment("CA" + "1".zfill(32), "RE" + "1".zfill(32), url, 9, now)
    (gb,) = after_call_on_the_feed(feed)
    assert (gb["region"], gb["surveys_answered"], gb["surveys_asked"]) == ("gb", 2, 3)
    assert (gb["average_rating"], gb["comments"]) == (4.5, 1)
    codes = [(code["code"], code["count"]) for code in gb["dispositions"]]
    assert codes == [("password_reset", 1), ("other", 1), ("skipped", 1)]


def test_the_page_has_the_after_call_table_for_the_script_to_fill(feed: AppClient) -> None:
    page = feed.get("/dashboard").text
    assert 'aria-labelledby="after-call-title"' in page
    assert '<tbody id="after-call-rows"></tbody>' in page
    assert '<th scope="row" data-field="region_name"></th>' in page
