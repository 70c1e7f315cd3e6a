"""The wallboard's figures after the call, per region: survey answers and disposition counts,
and survey answers per agent, language and disposition over the regions a screen shows, from
call records; and the same figures on the live feed, from the store's own writes."""

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
from ivr.store.reports_after_call import UNKNOWN, CodeCount, SurveyFigures
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
    document = json.loads(Snapshot(NOW, 60, ()).to_json())
    assert document["after_call"] == []
    assert document["surveys"] == {"agents": [], "languages": [], "dispositions": []}


# -- surveys by agent, language and disposition, every region together ----------------------
def test_survey_answers_per_agent_language_and_disposition_over_every_region(
    book: RegionBook,
) -> None:
    calls = [
        call(1, "gb", "en-GB", agent="bo", disposition="other", asked=True, rating=5),
        call(2, "jp", "ja-JP", agent="bo", disposition="other", asked=True, comment=True),
        call(3, "jp", "en-US", agent="ana", disposition="follow_up", asked=True, rating=2),
        call(4, "jp", "ja-JP", agent=None, asked=True, rating=4),  # agent never recorded
        call(5, "gb", "en-GB", agent="cy", disposition="other"),  # never asked: in no group
    ]
    surveys = line_figures(book, NOW, calls, [], {}, None).surveys()
    assert surveys.agents == (
        SurveyFigures(UNKNOWN, 1, 1, 1.0, 4.0, 0),  # "?" sorts first, as in `ivr report`
        SurveyFigures("ana", 1, 1, 1.0, 2.0, 0),
        SurveyFigures("bo", 2, 1, 0.5, 5.0, 1),
    )
    assert [(group.name, group.asked) for group in surveys.languages] == [
        ("en-GB", 1),
        ("en-US", 1),
        ("ja-JP", 2),
    ]
    assert [(group.name, group.asked, group.average_rating) for group in surveys.dispositions] == [
        (UNKNOWN, 1, 4.0),
        ("follow_up", 1, 2.0),
        ("other", 2, 5.0),
    ]


def test_the_groups_average_is_rounded_as_the_report_rounds_it(book: RegionBook) -> None:
    calls = [call(n, asked=True, rating=rating) for n, rating in enumerate([4, 4, 4, 5], 1)]
    (ana,) = line_figures(book, NOW, calls, [], {}, None).surveys().agents
    assert ana.average_rating == 4.3  # 4.25, half up (round() would say 4.2)


def test_the_groups_are_over_the_same_calls_of_today_as_the_regions_table(
    book: RegionBook,
) -> None:
    calls = [
        call(1, "jp", "ja-JP", started=TOKYO_MIDNIGHT - timedelta(minutes=1), asked=True),
        call(2, "jp", "ja-JP", agent="bo", started=TOKYO_MIDNIGHT, asked=True, rating=3),
        call(3, "atlantis", "en-US", agent="cy", asked=True, rating=1),  # not a region of ours
    ]
    snapshot = line_figures(book, NOW, calls, [], {}, None)
    (jp,) = snapshot.after_call
    (bo,) = snapshot.surveys().agents
    assert (bo.name, bo.asked, bo.average_rating) == ("bo", jp.surveys_asked, jp.average_rating)


def test_a_screens_regions_narrow_the_groups_on_its_feed(book: RegionBook) -> None:
    calls = [
        call(1, "gb", "en-GB", agent="ana", asked=True, rating=5),
        call(2, "jp", "ja-JP", agent="bo", asked=True, rating=3),
        call(3, "us", "en-US", agent="bo", asked=True, rating=4),
    ]
    snapshot = line_figures(book, NOW, calls, [], {}, None)
    only = json.loads(snapshot.to_json(frozenset({"jp", "us"})))
    assert [(a["name"], a["asked"], a["average_rating"]) for a in only["surveys"]["agents"]] == [
        ("bo", 2, 3.5)
    ]
    assert {region["region"] for region in only["after_call"]} == {"gb", "jp", "us"}
    assert snapshot.surveys(["atlantis"]).agents == ()
    assert [agent.name for agent in snapshot.surveys().agents] == ["ana", "bo"]


def test_the_groups_on_the_feed_carry_no_recording_or_number(book: RegionBook) -> None:
    calls = [call(1, "gb", "en-GB", disposition="other", asked=True, rating=4, comment=True)]
    document = line_figures(book, NOW, calls, [], {}, None).to_json()
    assert "api.twilio.com" not in document and "7700900123" not in document
    surveys = json.loads(document)["surveys"]
    ana = {"asked": 1, "answered": 1, "response_rate": 1.0, "average_rating": 4.0, "comments": 1}
    assert surveys == {
        "agents": [{"name": "ana", **ana}],
        "languages": [{"name": "en-GB", **ana}],
        "dispositions": [{"name": "other", **ana}],
    }


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


def snapshot_on_the_feed(feed: AppClient, query: str = "") -> dict[str, Any]:
    response = feed.get(f"/dashboard/events{query}")
    event, data = response.text.split("\n\n")[1].split("\n")
    assert event == "event: snapshot"
    document: dict[str, Any] = json.loads(data.removeprefix("data: "))
    return document


def after_call_on_the_feed(feed: AppClient) -> list[dict[str, Any]]:
    regions: list[dict[str, Any]] = snapshot_on_the_feed(feed)["after_call"]
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
    surveys = snapshot_on_the_feed(feed)["surveys"]
    (ana,) = surveys["agents"]
    assert (ana["name"], ana["asked"], ana["answered"], ana["average_rating"]) == ("ana", 3, 2, 4.5)
    assert (ana["response_rate"], ana["comments"]) == (pytest.approx(2 / 3), 1)
    assert [(group["name"], group["asked"]) for group in surveys["dispositions"]] == [
        ("other", 1),
        ("password_reset", 1),
        ("skipped", 1),
    ]


def test_the_feed_groups_the_surveys_of_the_regions_its_page_shows(
    feed: AppClient, wallboard_store: Store, london_clock: VirtualClock
) -> None:
    now = london_clock.now()
    sid = "CA" + "7".zfill(32)
    wallboard_store.record_step(sid, "+447700900123", "gb", "en-GB", "s1", "main:0", now)
    wallboard_store.record_disposition(sid, "other", "ana", now)
    wallboard_store.record_survey(sid, now, rating=5)
    assert [agent["name"] for agent in snapshot_on_the_feed(feed)["surveys"]["agents"]] == ["ana"]
    for query in ("?region=jp", "?region=%20jp%20,cn,"):
        elsewhere = snapshot_on_the_feed(feed, query)
        assert elsewhere["surveys"] == {"agents": [], "languages": [], "dispositions": []}
        assert [region["region"] for region in elsewhere["after_call"]] == ["gb"]  # page filters
    narrowed = snapshot_on_the_feed(feed, "?region=jp,gb")["surveys"]
    assert [agent["name"] for agent in narrowed["agents"]] == ["ana"]


def test_the_page_has_the_after_call_table_for_the_script_to_fill(feed: AppClient) -> None:
    page = feed.get("/dashboard").text
    assert 'aria-labelledby="after-call-title"' in page
    assert '<tbody id="after-call-rows"></tbody>' in page
    assert '<th scope="row" data-field="region_name"></th>' in page
    for group in ("agent", "language", "disposition"):
        assert f'<table id="surveys-by-{group}" class="survey" hidden>' in page
        assert f"<caption>Surveys by {group}</caption>" in page
    assert '<th scope="row" data-field="name"></th>' in page
