"""What a surge found, as lines for the terminal and as the "Surge" section of bench/RESULTS.md.

The section is written in place: the other sections of the file stay as they are, and a full
benchmark run that rewrites the file carries the last Surge section over (`keep_surge`).
"""

from __future__ import annotations

from pathlib import Path

from bench.surge import SurgeSummary
from bench.surge_plan import SURGE_START

HEADING = "## Surge"
SHOWN = 10  # problems listed per kind; the counts are always complete


def surge_lines(summary: SurgeSummary, setting: list[str]) -> list[str]:
    """The summary of one surge: `setting` says how it ran (server, database, machine)."""
    s, records = summary, summary.records
    fates = ", ".join(f"{fate} {count}" for fate, count in s.fates.items())
    purposes = ", ".join(f"{purpose} {count}" for purpose, count in s.by_purpose.items())
    verdict = "PASS" if s.clean else "FAIL"
    out = [
        "surge: correctness under a burst of whole calls",
        *[f"  {line}" for line in setting],
        f"  callers: {s.calls} dialled at {SURGE_START:%a %d %b %Y %H:%M} UTC (virtual), each on"
        " a switch and a thread of its own, released together, a new connection per request;"
        " lines: " + ", ".join(s.lines),
        f"  plan: {fates}; agents placed: {s.agents}",
        f"  requests: {s.requests:,} ({purposes})",
        f"  peak requests in flight: {s.peak_in_flight} (sent to the server and not yet fully"
        " read back, as the callers' side saw them: a request counts until its caller's thread"
        " has read the whole answer)",
        f"  wall time: {s.wall_seconds:.1f} s; longest call: {s.longest_call_seconds} s of"
        " virtual time",
        f"  errors: {len(s.http_errors)} HTTP (non-2xx), {len(s.problems)} Twilio errors,"
        f" warnings or application errors, {len(s.driver_failures)} driver failures;"
        f" {len(s.unanswered)} requests unanswered",
        f"  calls that did not end: {len(s.not_ended)}; off their plan: {len(s.off_script)}",
        f"  records: {records.checked} checked, {len(records.lost)} lost"
        f" ({records.lost_at_first_read} wrong or missing at the first read,"
        f" {records.waited_seconds:.1f} s of re-reading); {records.rows} rows in the calls"
        " table (callers and their agents' legs)",
        f"  verdict: {verdict} (no error, every call ended as planned, no record lost)",
    ]
    for title, items in (
        ("HTTP errors", s.http_errors),
        ("Twilio errors and warnings", s.problems),
        ("driver failures", s.driver_failures),
        ("unanswered requests", s.unanswered),
        ("calls that did not end", s.not_ended),
        ("calls off their plan", s.off_script),
        ("lost records", records.lost),
    ):
        if items:
            out.append(f"  {title} (first {min(len(items), SHOWN)} of {len(items)}):")
            out += [f"    {item}" for item in items[:SHOWN]]
    return out


def surge_section(lines: list[str], command: str) -> str:
    """The Markdown section for bench/RESULTS.md."""
    return "\n".join(
        [
            HEADING,
            "",
            f"Written by `{command}` from one real run, like the sections above;",
            "`python -m bench --results` keeps this section as it is.",
            "",
            "```text",
            *lines,
            "```",
            "",
        ]
    )


def write_surge_section(results: Path, section: str) -> None:
    """Put `section` in `results` in place of its Surge section (at the end if it has none),
    leaving every other section as it is."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    results.write_text(_replaced(text, section), encoding="utf-8")


def keep_surge(previous: Path, rewritten: str) -> str:
    """`rewritten` (a full benchmark report) with the Surge section of `previous`, if any."""
    if not previous.exists():
        return rewritten
    section = _section(previous.read_text(encoding="utf-8"))
    return rewritten if section is None else _replaced(rewritten, section)


def _bounds(text: str) -> tuple[int, int] | None:
    start = text.find(f"\n{HEADING}\n")
    if start < 0:
        return None
    end = text.find("\n## ", start + 1)
    return start + 1, len(text) if end < 0 else end + 1


def _section(text: str) -> str | None:
    bounds = _bounds(text)
    return None if bounds is None else text[bounds[0] : bounds[1]]


def _replaced(text: str, section: str) -> str:
    section = section.rstrip("\n") + "\n"
    bounds = _bounds(text)
    if bounds is None:
        return text.rstrip("\n") + "\n\n" + section
    start, end = bounds
    rest = text[end:]
    return text[:start] + section + ("\n" + rest if rest else "")
