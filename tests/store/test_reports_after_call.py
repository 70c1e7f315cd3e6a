"""Dispositions and survey answers by hand, from small call records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ivr.store.reports import TOTAL
from ivr.store.reports_after_call import (
    UNKNOWN,
    CodeCount,
    average_rating,
    dispositions_by_region,
    region_dispositions,
    survey_figures,
    survey_report,
)
from ivr.store.repository import CallRecord
from tests.support.after_call import taken_call

DAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def call(
    sid: int, region: str | None = "jp", language: str | None = "ja-JP", **after: Any
) -> CallRecord:
    """A call an agent took on DAY; `asked`: the survey was put to the caller."""
    return taken_call(sid, region, language, started=DAY, **after)


# -- dispositions ---------------------------------------------------------------------------
def test_codes_are_counted_with_their_share_of_the_regions_dispositioned_calls() -> None:
    calls = [
        call(1, disposition="password_reset"),
        call(2, disposition="password_reset"),
        call(3, disposition="security_case"),
        call(4, disposition="skipped"),
        call(5, agent=None),  # nobody took it: no disposition, in no figure
    ]
    (jp,) = dispositions_by_region(calls)
    assert (jp.region, jp.dispositioned) == ("jp", 4)
    assert jp.codes == (
        CodeCount("password_reset", 2, 0.5),
        CodeCount("security_case", 1, 0.25),
        CodeCount("skipped", 1, 0.25),
    )


def test_skipped_is_its_own_row_and_always_the_last() -> None:
    calls = [call(n, disposition="skipped") for n in range(3)] + [call(9, disposition="other")]
    codes = region_dispositions("jp", calls).codes
    assert [(code.code, code.count) for code in codes] == [("other", 1), ("skipped", 3)]
    assert sum(code.share or 0 for code in codes) == pytest.approx(1)


def test_codes_follow_the_regions_own_order_when_given_then_the_others() -> None:
    calls = [
        call(1, disposition="follow_up"),
        call(2, disposition="password_reset"),
        call(3, disposition="password_reset"),
        call(4, disposition="retired_code"),  # no longer in the region's list
        call(5, disposition="skipped"),
    ]
    order = ("follow_up", "password_reset", "security_case")
    codes = [code.code for code in region_dispositions("jp", calls, order).codes]
    assert codes == ["follow_up", "password_reset", "retired_code", "skipped"]
    # Without an order: most first, then by name.
    codes = [code.code for code in region_dispositions("jp", calls).codes]
    assert codes == ["password_reset", "follow_up", "retired_code", "skipped"]


def test_regions_are_sorted_and_those_without_a_disposition_left_out() -> None:
    calls = [
        call(1, "us", "en-US", disposition="other"),
        call(2, "jp", disposition="other"),
        call(3, None, None, disposition="other"),
        call(4, "gb", "en-GB"),
    ]
    assert [line.region for line in dispositions_by_region(calls)] == [UNKNOWN, "jp", "us"]


def test_no_dispositioned_call_has_no_share() -> None:
    assert dispositions_by_region([call(1), call(2, agent=None)]) == []
    nothing = region_dispositions(TOTAL, [call(1)])
    assert (nothing.dispositioned, nothing.codes) == (0, ())


# -- surveys --------------------------------------------------------------------------------
def test_asked_answered_rate_rating_and_comments_by_hand() -> None:
    calls = [
        call(1, asked=True, rating=5, comment=True),
        call(2, asked=True, rating=4),
        call(3, asked=True),  # asked, hung up without rating
        call(4, asked=True, comment=True),  # no rating, but a comment
        call(5),  # never asked: not in any survey figure
        call(6, asked=True, comment=True, comment_seconds=0),  # a silent recording: no comment
    ]
    figures = survey_figures("jp", calls)
    assert (figures.asked, figures.answered, figures.comments) == (5, 2, 2)
    assert figures.response_rate == 0.4
    assert figures.average_rating == 4.5


def test_a_rating_whose_question_was_not_recorded_still_counts_as_asked() -> None:
    figures = survey_figures("jp", [call(1, rating=3)])
    assert (figures.asked, figures.answered, figures.response_rate) == (1, 1, 1.0)


def test_nobody_asked_means_no_rate_and_no_rating() -> None:
    figures = survey_figures("jp", [call(1), call(2, disposition="other")])
    assert (figures.asked, figures.answered, figures.comments) == (0, 0, 0)
    assert figures.response_rate is None and figures.average_rating is None


def test_asked_but_nobody_answered_is_a_real_zero_rate_and_no_rating() -> None:
    figures = survey_figures("jp", [call(1, asked=True)])
    assert figures.response_rate == 0.0 and figures.average_rating is None


@pytest.mark.parametrize(
    ("ratings", "shown"),
    [
        ([5], 5.0),
        ([4, 5], 4.5),
        ([4, 4, 5, 4], 4.3),  # 4.25: half up, as a reader rounds it
        ([1, 2, 2], 1.7),  # 1.666...
        ([3, 3, 4], 3.3),  # 3.333...
        ([1, 1, 1, 1, 1, 1, 1, 2], 1.1),  # 1.125
        ([], None),
    ],
)
def test_the_average_rating_has_one_decimal_rounded_half_up(
    ratings: list[int], shown: float | None
) -> None:
    assert average_rating(ratings) == shown


def test_the_survey_report_groups_by_agent_region_language_and_disposition() -> None:
    calls = [
        call(1, agent="ana", disposition="password_reset", asked=True, rating=5),
        call(2, agent="ana", disposition="skipped", asked=True, rating=3, comment=True),
        call(3, agent="bo", language="en-US", disposition="password_reset", asked=True),
        call(4, "us", "en-US", agent="cy", asked=True, rating=2),  # no code keyed yet
        call(5, "us", "en-US", agent="cy", disposition="other"),  # not asked
    ]
    report = survey_report(calls)
    by_agent = {line.name: line for line in report.agents}
    assert list(by_agent) == ["ana", "bo", "cy"]
    assert (by_agent["ana"].asked, by_agent["ana"].answered) == (2, 2)
    assert by_agent["ana"].average_rating == 4.0 and by_agent["ana"].comments == 1
    assert by_agent["bo"].response_rate == 0.0 and by_agent["bo"].average_rating is None
    assert (by_agent["cy"].asked, by_agent["cy"].average_rating) == (1, 2.0)
    assert [(line.name, line.asked) for line in report.regions] == [("jp", 3), ("us", 1)]
    assert [(line.name, line.answered) for line in report.languages] == [
        ("en-US", 1),
        ("ja-JP", 2),
    ]
    by_code = {line.name: line for line in report.dispositions}
    assert list(by_code) == [UNKNOWN, "password_reset", "skipped"]
    assert by_code["password_reset"].response_rate == 0.5
    assert by_code[UNKNOWN].average_rating == 2.0
    total = report.total
    assert (total.name, total.asked, total.answered, total.comments) == (TOTAL, 4, 3, 1)
    assert total.response_rate == 0.75 and total.average_rating == 3.3  # 10 / 3


def test_calls_without_an_agent_or_language_count_under_unknown() -> None:
    report = survey_report([call(1, language=None, agent=None, asked=True, rating=4)])
    assert [line.name for line in report.agents] == [UNKNOWN]
    assert [line.name for line in report.languages] == [UNKNOWN]


def test_an_empty_day_has_an_empty_survey_report() -> None:
    report = survey_report([])
    assert report.agents == report.regions == report.languages == report.dispositions == ()
    assert report.total.asked == 0 and report.total.response_rate is None
