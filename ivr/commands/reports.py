"""The `ivr calls` and `ivr report` commands: recent calls, and per-region figures for operators
(calls, callbacks, then what happened after the call: dispositions and survey answers)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ivr.commands import support
from ivr.engine.numbers import masked
from ivr.store import CallRecord
from ivr.store.reports import (
    DEFAULT_ANSWER_WITHIN,
    TOTAL,
    RegionReport,
    build_report,
    total_report,
)
from ivr.store.reports_after_call import (
    RegionDispositions,
    SurveyFigures,
    SurveyReport,
    dispositions_by_region,
    region_dispositions,
    survey_report,
)

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def calls(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="How many calls to show.")] = 20,
    region: Annotated[
        str | None, typer.Option(help="Only this region's calls (its id, e.g. jp).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print a JSON array instead of a table.")
    ] = False,
) -> None:
    """List the most recent calls, newest first; callers' numbers are masked."""
    with support.migrated_store() as store:
        records = store.recent_calls(limit=limit, region=region)
    rows = [_call_row(record) for record in records]
    if json_output:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Last {len(rows)} calls" + (f" in {region}" if region else ""))
    table.add_column("Time (UTC)", no_wrap=True)
    table.add_column("CallSid", no_wrap=True)
    table.add_column("Caller", no_wrap=True)
    for name in ("Region", "Language", "Path", "Outcome"):
        table.add_column(name)
    table.add_column("Wait (s)", justify="right")
    table.add_column("Status")
    for row in rows:
        # Text, not str: a caller ID or menu path must never be read as rich markup.
        table.add_row(*(Text("" if value is None else str(value)) for value in row.values()))
    Console().print(table)


def report(
    region: Annotated[
        str | None, typer.Option(help="Only this region (its id, e.g. jp); default: all.")
    ] = None,
    day: Annotated[
        str | None, typer.Option(help="The UTC day to report, YYYY-MM-DD; default: today.")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON (rates 0..1, waits in seconds or null).")
    ] = False,
    answer_within: Annotated[
        int,
        typer.Option(
            min=0,
            help="Service level threshold, seconds: answered within it / (answered +"
            " abandoned after it).",
        ),
    ] = DEFAULT_ANSWER_WITHIN,
) -> None:
    """Per-region figures of one UTC day: self-service, queue, waits, service level, callbacks;
    then agents' dispositions per region and code, and survey answers per agent, region,
    language and disposition.

    Calls are those that started that day; callbacks those booked that day (with their status
    now) plus every callback still open, whenever it was booked."""
    start = datetime.combine(_day(day), time(), tzinfo=UTC)
    with support.migrated_store() as store:
        day_calls = store.calls_between(start, start + timedelta(days=1))
        callbacks = store.callbacks.booked_between(start, start + timedelta(days=1))
        callbacks += store.callbacks.open_callbacks()  # build_report counts each id once
    if region is not None:
        day_calls = [call for call in day_calls if call.region == region]
        callbacks = [callback for callback in callbacks if callback.region == region]
    regions = build_report(day_calls, callbacks, answer_within)
    total = total_report(day_calls, callbacks, answer_within)
    dispositions = dispositions_by_region(day_calls)
    all_dispositions = region_dispositions(TOTAL, day_calls)
    surveys = survey_report(day_calls)
    if json_output:
        document = {
            "day": start.date().isoformat(),
            "answer_within": answer_within,
            "regions": [asdict(line) for line in regions],
            "total": asdict(total),
            "dispositions": {
                "regions": [asdict(line) for line in dispositions],
                "total": asdict(all_dispositions),
            },
            "surveys": asdict(surveys),
        }
        typer.echo(json.dumps(document, indent=2))
        return
    console = Console()
    console.print(_report_table(start.date(), answer_within, regions, total))
    _print_after_the_call(console, start.date(), dispositions, all_dispositions, surveys)


def _call_row(record: CallRecord) -> dict[str, Any]:
    """What an operator may see of a call: never the caller's full number."""
    started = record.created_at
    return {
        "time": started.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if started else None,
        "call_sid": record.call_sid,
        "caller": masked(record.caller),
        "region": record.region,
        "language": record.language,
        "path": record.path,
        "outcome": record.outcome,
        "wait": record.queue_time,
        "status": record.status,
    }


def _report_table(
    day: date, answer_within: int, regions: Sequence[RegionReport], total: RegionReport
) -> Table:
    table = Table(title=f"Calls of {day.isoformat()} (UTC)", show_footer=False)
    table.add_column("Region", no_wrap=True)
    headers = (
        "Calls",
        "Self-served",
        "Queued",
        "Bridged",
        "Abandoned",
        "Wait avg / p90",
        f"Service level {answer_within}s",
        "Callbacks open/done/expired",
        "Voicemails",
        "Errors",
    )
    for header in headers:
        table.add_column(header, justify="right")
    for line in regions:
        table.add_row(*_report_cells(line))
    # The total row only adds something when there is more than one region to sum.
    if len(regions) != 1:
        table.add_section()
        table.add_row(*_report_cells(total), style="bold")
    return table


def _report_cells(line: RegionReport) -> list[str]:
    return [
        line.region,
        str(line.calls),
        f"{line.self_served} ({_percent(line.self_service_rate)})",
        str(line.queued),
        str(line.bridged),
        f"{line.abandoned} ({_percent(line.abandonment_rate)})",
        f"{_seconds(line.average_wait)} / {_seconds(line.p90_wait)}",
        _percent(line.service_level),
        f"{line.callbacks_pending}/{line.callbacks_done}/{line.callbacks_expired}",
        str(line.voicemails),
        str(line.errors),
    ]


def _print_after_the_call(
    console: Console,
    day: date,
    regions: Sequence[RegionDispositions],
    total: RegionDispositions,
    surveys: SurveyReport,
) -> None:
    if regions:
        console.print(_dispositions_table(day, regions, total))
    else:
        console.print(f"No call of {day.isoformat()} has a disposition.", markup=False)
    if not surveys.total.asked:
        console.print(f"No caller of {day.isoformat()} was asked the survey.", markup=False)
        return
    groups = (
        ("agent", "Agent", surveys.agents),
        ("region", "Region", surveys.regions),
        ("language", "Language", surveys.languages),
        ("disposition", "Disposition", surveys.dispositions),
    )
    for by, header, lines in groups:
        # Only the regions' table gets a total: the other groupings add up to the same one.
        with_total = by == "region" and len(lines) != 1
        console.print(_survey_table(day, by, header, lines, surveys.total if with_total else None))


def _dispositions_table(
    day: date, regions: Sequence[RegionDispositions], total: RegionDispositions
) -> Table:
    table = Table(title=f"Dispositions of {day.isoformat()} (UTC)")
    table.add_column("Region", no_wrap=True)
    table.add_column("Code")
    table.add_column("Calls", justify="right")
    table.add_column("Share", justify="right")
    shown = [*regions, total] if len(regions) != 1 else [*regions]
    for number, line in enumerate(shown):
        if number:
            table.add_section()
        style = "bold" if line is total else None
        for row, code in enumerate(line.codes):
            region = line.region if row == 0 else ""
            # Text, not str: a code or region read back from the records is never markup.
            cells = (region, code.code, str(code.count), _percent(code.share))
            table.add_row(*(Text(cell) for cell in cells), style=style)
    return table


def _survey_table(
    day: date,
    by: str,
    header: str,
    lines: Sequence[SurveyFigures],
    total: SurveyFigures | None,
) -> Table:
    table = Table(title=f"Surveys of {day.isoformat()} (UTC) by {by}")
    table.add_column(header, no_wrap=True)
    for name in ("Asked", "Answered", "Response rate", "Rating (avg)", "Comments"):
        table.add_column(name, justify="right")
    for line in lines:
        table.add_row(*(Text(cell) for cell in _survey_cells(line)))
    if total is not None:
        table.add_section()
        table.add_row(*(Text(cell) for cell in _survey_cells(total)), style="bold")
    return table


def _survey_cells(line: SurveyFigures) -> list[str]:
    return [
        line.name,
        str(line.asked),
        str(line.answered),
        _percent(line.response_rate),
        "–" if line.average_rating is None else f"{line.average_rating:.1f}",
        str(line.comments),
    ]


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def _seconds(seconds: float | None) -> str:
    return "–" if seconds is None else f"{seconds:.0f}s"


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        # The pattern first: fromisoformat alone also takes "20260302" and "2026-W10-1".
        if _DAY.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    typer.echo(f"--day: expected a date as YYYY-MM-DD (e.g. 2026-03-02), got {text!r}", err=True)
    raise typer.Exit(2)
