"""Who calls in the surge, on which line, and what each caller does: a seeded plan.

The callers ring the regions of the sample regions.toml that are open at the surge's moment
(a Tuesday afternoon in Europe, morning in the Americas, evening in India), each from a number
of their own, in every language those lines offer. Most ask for an agent, some have a pending
transaction and key its reference into the priority queue, a few only hear self-service
guidance, a few leave the queue with 1 for the other channels. Agents take most of the queued
callers after a few rounds of wait music; the others hang up while waiting.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberType

from ivr.config.hours import WEEKDAYS, is_open
from ivr.config.regions import RegionBook, load_regions

# Tuesday 3 March 2026, 15:00 UTC; each call lasts at most ~10 minutes of virtual time.
SURGE_START = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
SURGE_SPAN = timedelta(minutes=20)
# A caller of the international line comes from a country no region serves.
GLOBAL_CALLER_COUNTRY = "FR"

AGENT, PENDING, SELF_SERVICE, LEAVE = "agent", "pending", "self-service", "leave"
BRIDGED, HANGUP, LEFT, SELF_SERVED = "bridged", "hangup", "leave", "self-served"
# Shares of the surge's callers by journey; of the queued ones, agents take this share.
JOURNEY_SHARES = ((AGENT, 0.58), (PENDING, 0.26), (SELF_SERVICE, 0.08), (LEAVE, 0.08))
TAKEN_SHARE = 0.8


@dataclass(frozen=True)
class SurgeLine:
    """A regional hotline open at the surge's moment, and where its callers call from."""

    region: str
    hotline: str
    caller_country: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class PlannedCall:
    """One caller's journey: the keys they press, then how their wait ends.

    `after`: virtual seconds, counted from when the caller rests in the queue (one round of
    wait music heard), until an agent dials the queue (bridged) or the caller hangs up."""

    index: int
    line: SurgeLine
    caller: str
    language: str
    journey: str
    fate: str
    keys: tuple[str, ...]
    path: str  # the menu path the service should keep, "lang:1 main:0"
    queue: str | None
    reference: str | None
    after: float
    talk: float

    @property
    def reason(self) -> str | None:
        """Why the caller queued, as the service records it."""
        return {AGENT: "main", LEAVE: "main", PENDING: "pending"}.get(self.journey)


def open_lines(book: RegionBook, at: datetime = SURGE_START) -> list[SurgeLine]:
    """The lines of `book` whose agents are on duty from `at` for the whole surge."""
    lines = []
    for region in book.regions.values():
        if not all(is_open(region.opening, moment) for moment in (at, at + SURGE_SPAN)):
            continue
        country = region.countries[0] if region.countries else GLOBAL_CALLER_COUNTRY
        lines.append(SurgeLine(region.id, region.hotlines[0], country, region.languages))
    return lines


def distinct_callers(country: str, count: int) -> list[str]:
    """`count` different valid mobile numbers of `country` (the per-caller rate limit must not
    see one number twice)."""
    example = phonenumbers.example_number_for_type(country, PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"phonenumbers has no example mobile number for {country}")
    base = str(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    numbers: list[str] = []
    for ending in range(10_000):
        if len(numbers) == count:
            return numbers
        candidate = f"{base[:-4]}{ending:04d}"
        parsed = phonenumbers.parse(candidate)
        if phonenumbers.is_valid_number(parsed) and (
            phonenumbers.region_code_for_number(parsed) == country
        ):
            numbers.append(candidate)
    if len(numbers) < count:
        raise ValueError(f"only {len(numbers)} valid {country} numbers near {base}")
    return numbers


def plan_surge(lines: list[SurgeLine], calls: int, seed: int) -> list[PlannedCall]:
    """`calls` callers spread over `lines` and their languages, with the journey shares above
    (every journey at least once when `calls` allows)."""
    if not lines:
        raise ValueError("no line is open at the surge's moment")
    rng = random.Random(seed)
    journeys = _journeys(calls, rng)
    pairs = [(line, language) for line in lines for language in line.languages]
    chosen = [pairs[index % len(pairs)] for index in range(calls)]
    numbers = {
        line.region: distinct_callers(
            line.caller_country, sum(1 for other, _ in chosen if other is line)
        )
        for line in lines
    }
    plans = []
    for index, (journey, (line, language)) in enumerate(zip(journeys, chosen, strict=True)):
        queued = journey in (AGENT, PENDING)
        fate = {SELF_SERVICE: SELF_SERVED, LEAVE: LEFT}.get(journey, BRIDGED)
        if queued and rng.random() > TAKEN_SHARE:
            fate = HANGUP
        reference = f"202603{rng.randint(10**5, 10**6 - 1)}" if journey == PENDING else None
        keys, path = _keys_and_path(line, language, journey, reference)
        queue = None if journey == SELF_SERVICE else f"{line.region}-{language}"
        if journey == PENDING:
            queue = f"{queue}-priority"
        plans.append(
            PlannedCall(
                index=index,
                line=line,
                caller=numbers[line.region].pop(),
                language=language,
                journey=journey,
                fate=fate,
                keys=keys,
                path=path,
                queue=queue,
                reference=reference,
                after=rng.uniform(60.0, 240.0),
                talk=rng.uniform(20.0, 90.0),
            )
        )
    return plans


def _journeys(calls: int, rng: random.Random) -> list[str]:
    counts = {journey: max(1, round(calls * share)) for journey, share in JOURNEY_SHARES}
    counts[AGENT] = max(0, calls - sum(n for j, n in counts.items() if j != AGENT))
    journeys = [journey for journey, n in counts.items() for _ in range(n)][:calls]
    rng.shuffle(journeys)
    return journeys


def _keys_and_path(
    line: SurgeLine, language: str, journey: str, reference: str | None
) -> tuple[tuple[str, ...], str]:
    """The keys a caller presses, in order, and the menu path the service keeps for them
    (a keyed reference shows as "#": the path never holds it)."""
    steps: list[tuple[str, str | None]] = []  # (key, menu node it answers; None: not a menu)
    if len(line.languages) > 1:
        steps.append((str(line.languages.index(language) + 1), "lang"))
    if journey == SELF_SERVICE:
        steps.append(("1", "main"))  # forgotten password: guidance, then they hang up
    elif journey == PENDING:
        assert reference is not None
        steps += [("4", "main"), ("0", "pending"), (f"{reference}#", "ref"), ("1", "confirm")]
    else:
        steps.append(("0", "main"))
    if journey == LEAVE:
        steps += [("1", None), ("3", "ways")]  # 1 at the leave offer in the queue, 3: channels
    keys = tuple(key for key, _ in steps)
    path = " ".join(f"{node}:{'#' if node == 'ref' else key}" for key, node in steps if node)
    return keys, path


def staffed_around_the_clock(sample: Path, target: Path, regions: list[str]) -> Path:
    """`sample` with `regions` staffed at every hour of every day, holidays and special days
    dropped, written to `target`: `ivr serve` keeps the real time, so the surge (emulated at
    SURGE_START) must not depend on the day it runs. Languages, queues and lines stay."""
    text = sample.read_text(encoding="utf-8")
    all_day = ", ".join(f'{day} = ["00:00-24:00"]' for day in WEEKDAYS)
    for region in regions:
        start = text.index(f"[regions.{region}]")
        end = text.find("\n[regions.", start)
        end = len(text) if end < 0 else end
        kept = [
            f"hours = {{ {all_day} }}" if line.startswith("hours") else line
            for line in text[start:end].splitlines()
            if not line.startswith(("holidays", "special_days"))
        ]
        text = text[:start] + "\n".join(kept) + text[end:]
    target.write_text(text, encoding="utf-8")
    load_regions(target)  # refuses a file the service would refuse
    return target
