"""The wallboard's figures per region and language, from call and callback records."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from ivr.config.regions import RegionBook
from ivr.dashboard.agents import AgentCounts
from ivr.dashboard.figures import LineFigures, Snapshot, line_figures, start_of_day
from ivr.store.callbacks import CallbackRecord
from ivr.store.reports import region_report
from ivr.store.repository import CallRecord
from tests.support.moments import instant

# Monday 2 March 2026: 10:00 in London (open), 19:00 in Tokyo (closed since 18:00).
NOW = instant("2026-03-02T10:00+00:00")
UK_CALLER = "+447700900123"


def call(
    sid: int,
    region: str | None = "gb",
    language: str | None = "en-GB",
    *,
    started: datetime = NOW - timedelta(minutes=30),
    queued: timedelta | None = None,
    queue: str | None = None,
    outcome: str = "self-served",
    queue_result: str | None = None,
    queue_time: int | None = None,
    ended: bool = True,
) -> CallRecord:
    """A call record; `queued`: how long before NOW the caller joined `queue` (default the
    line's own queue)."""
    queued_at = NOW - queued if queued is not None else None
    return CallRecord(
        call_sid=f"CA{sid:032x}",
        caller=UK_CALLER,
        region=region,
        language=language,
        reason=None,
        transaction_ref=None,
        queue=(queue or f"{region}-{language}") if queued is not None else None,
        queued_at=queued_at,
        status="completed" if ended else None,
        duration=60 if ended else None,
        outcome=outcome,
        queue_result=queue_result,
        queue_time=queue_time,
        created_at=started,
        ended_at=started + timedelta(minutes=1) if ended else None,
    )


def waiting_call(sid: int, waited: int, **kwargs: object) -> CallRecord:
    return call(
        sid,
        started=NOW - timedelta(seconds=waited + 60),
        queued=timedelta(seconds=waited),
        outcome="queued",
        ended=False,
        **kwargs,  # type: ignore[arg-type]
    )


def callback(number: int, region: str, language: str, status: str = "pending") -> CallbackRecord:
    return CallbackRecord(
        id=number,
        call_sid=f"CA{number:032x}",
        code="123456",
        number=UK_CALLER,
        region=region,
        language=language,
        reason=None,
        transaction_ref=None,
        waiting_since=NOW - timedelta(hours=1),
        booked_at=NOW - timedelta(hours=1),
        status=status,
        attempts=0,
        next_attempt_at=NOW,
        last_call_sid=None,
        last_result=None,
        note_due=False,
        note_sent_at=None,
    )


def figures(book: RegionBook, calls: list[CallRecord], **kwargs: object) -> Snapshot:
    args: dict[str, object] = {"callbacks": [], "answer_times": {}, "agents": None}
    args.update(kwargs)
    return line_figures(book, NOW, calls, **args)  # type: ignore[arg-type]


def line(snapshot: Snapshot, region: str, language: str) -> LineFigures:
    (found,) = [x for x in snapshot.lines if (x.region, x.language) == (region, language)]
    return found


def test_every_region_and_language_has_a_line_in_the_order_of_the_file(book: RegionBook) -> None:
    snapshot = figures(book, [])
    expected = [(r.id, language) for r in book.regions.values() for language in r.languages]
    assert [(x.region, x.language) for x in snapshot.lines] == expected
    assert line(snapshot, "gb", "en-GB").region_name == "United Kingdom and Ireland"


def test_a_quiet_line_shows_zeros_and_unknown_rates(book: RegionBook) -> None:
    quiet = line(figures(book, []), "gb", "en-GB")
    assert (quiet.waiting, quiet.calls_today, quiet.callbacks_pending) == (0, 0, 0)
    assert quiet.longest_wait is None and quiet.estimated_wait is None
    assert quiet.self_service_rate is None and quiet.service_level is None


def test_callers_in_the_queue_are_counted_with_the_longest_wait(book: RegionBook) -> None:
    calls = [
        waiting_call(1, 95),
        waiting_call(2, 30),
        waiting_call(3, 10, queue="gb-en-GB-priority"),
        waiting_call(4, 20, region="jp", language="ja-JP"),
    ]
    snapshot = figures(book, calls)
    gb = line(snapshot, "gb", "en-GB")
    assert gb.waiting == 3 and gb.longest_wait == 95
    assert line(snapshot, "jp", "ja-JP").waiting == 1
    assert line(snapshot, "jp", "en-US").waiting == 0


def test_callers_who_left_the_queue_or_hung_up_are_not_waiting(book: RegionBook) -> None:
    calls = [
        replace(waiting_call(1, 60), queue_result="bridged", queue_time=60, outcome="bridged"),
        replace(waiting_call(2, 60), ended_at=NOW, status="completed", outcome="abandoned"),
    ]
    assert line(figures(book, calls), "gb", "en-GB").waiting == 0


def test_a_queue_entry_older_than_the_longest_possible_wait_is_a_lost_webhook(
    book: RegionBook,
) -> None:
    longest = book.regions["gb"].queue.max_wait
    calls = [waiting_call(1, longest + 10 * 60), waiting_call(2, longest - 60)]
    gb = line(figures(book, calls), "gb", "en-GB")
    assert gb.waiting == 1 and gb.longest_wait == longest - 60


def test_today_is_the_day_in_the_regions_own_time_zone(book: RegionBook) -> None:
    # 10:00 UTC is 19:00 in Tokyo: its day began at 15:00 UTC the day before.
    tokyo_midnight = instant("2026-03-02T00:00+09:00")
    assert start_of_day(book.regions["jp"], NOW) == tokyo_midnight
    calls = [
        call(1, "jp", "ja-JP", started=tokyo_midnight - timedelta(minutes=1)),
        call(2, "jp", "ja-JP", started=tokyo_midnight + timedelta(minutes=1)),
        call(3, "gb", "en-GB", started=tokyo_midnight + timedelta(minutes=1)),  # 1 March, UK
        call(4, "gb", "en-GB", started=instant("2026-03-02T00:05+00:00")),
    ]
    snapshot = figures(book, calls)
    assert line(snapshot, "jp", "ja-JP").calls_today == 1
    assert line(snapshot, "gb", "en-GB").calls_today == 1


def test_midnight_that_the_clocks_skip_starts_the_day_at_the_first_minute(
    book: RegionBook,
) -> None:
    # Santiago de Chile springs forward at midnight: 6 September 2026 starts at 01:00.
    chile = replace(book.regions["latam"], timezone="America/Santiago")
    start = start_of_day(chile, instant("2026-09-06T12:00-04:00"))
    assert start.isoformat() == "2026-09-06T01:00:00-03:00"


def test_a_caller_who_hung_up_before_choosing_a_language_counts_in_the_default_one(
    book: RegionBook,
) -> None:
    snapshot = figures(book, [call(1, "jp", None, started=NOW - timedelta(minutes=5))])
    assert line(snapshot, "jp", "ja-JP").calls_today == 1
    assert line(snapshot, "jp", "en-US").calls_today == 0


def test_calls_of_unknown_regions_are_left_out(book: RegionBook) -> None:
    snapshot = figures(book, [call(1, None, None), call(2, "atlantis", "en-US")])
    assert sum(x.calls_today for x in snapshot.lines) == 0


def test_rates_are_those_of_ivr_report_for_the_lines_calls(book: RegionBook) -> None:
    calls = [
        call(1),
        call(2),
        call(3, queued=timedelta(minutes=20), outcome="bridged", queue_time=30),
        call(4, queued=timedelta(minutes=20), outcome="bridged", queue_time=200),
        call(5, queued=timedelta(minutes=20), outcome="abandoned", queue_time=100),
        call(6, queued=timedelta(minutes=20), outcome="abandoned", queue_time=10),
    ]
    callbacks = [callback(1, "gb", "en-GB"), callback(2, "gb", "en-GB", "dialing")]
    gb = line(figures(book, calls, callbacks=callbacks), "gb", "en-GB")
    report = region_report("gb", calls, callbacks)
    assert gb.calls_today == 6
    assert gb.self_service_rate == report.self_service_rate == 2 / 6
    assert gb.abandonment_rate == report.abandonment_rate == 2 / 4
    assert gb.service_level == report.service_level == 1 / 3  # 30 s in time; 200 s, 100 s late
    assert gb.callbacks_pending == 2


def test_callbacks_count_on_their_own_language_line(book: RegionBook) -> None:
    callbacks = [callback(1, "jp", "en-US"), callback(2, "jp", "en-US", "queued")]
    snapshot = figures(book, [], callbacks=callbacks)
    assert line(snapshot, "jp", "en-US").callbacks_pending == 1  # queued: an agent is next
    assert line(snapshot, "jp", "ja-JP").callbacks_pending == 0


def test_the_estimated_wait_is_what_a_new_caller_would_hear(book: RegionBook) -> None:
    # 12 answered in the last hour (one every 5 minutes) and two callers ahead: third in line.
    history = {"gb-en-GB": [40] * 12}
    calls = [waiting_call(1, 30), waiting_call(2, 20)]
    gb = line(figures(book, calls, answer_times=history), "gb", "en-GB")
    assert gb.estimated_wait == "< 15 min"
    assert line(figures(book, [], answer_times=history), "gb", "en-GB").estimated_wait == "< 5 min"
    few = {"gb-en-GB": [40, 50]}  # fewer than three answers: no estimate, as on the phone
    assert line(figures(book, [], answer_times=few), "gb", "en-GB").estimated_wait is None


def test_agents_are_unknown_when_none_is_configured(book: RegionBook) -> None:
    snapshot = figures(book, [])
    assert line(snapshot, "gb", "en-GB").agents_on_calls is None
    assert json.loads(snapshot.to_json())["agents_known"] is False
    counted = figures(book, [], agents={("gb", "en-GB"): AgentCounts(on_calls=3, available=2)})
    gb = line(counted, "gb", "en-GB")
    assert (gb.agents_on_calls, gb.agents_available) == (3, 2)
    assert line(counted, "jp", "ja-JP").agents_on_calls == 0


def test_open_lines_follow_the_regions_hours(book: RegionBook) -> None:
    snapshot = figures(book, [])
    assert line(snapshot, "gb", "en-GB").agents_open
    assert not line(snapshot, "jp", "ja-JP").agents_open


def test_no_phone_number_reaches_the_wallboard(book: RegionBook) -> None:
    calls = [waiting_call(1, 30), call(2)]
    document = figures(book, calls, callbacks=[callback(1, "gb", "en-GB")]).to_json()
    assert "7700900123" not in document and "0123" not in document
    parsed = json.loads(document)
    assert parsed["answer_within"] == 60 and parsed["alarm_after"] == 300
