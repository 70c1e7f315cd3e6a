"""Operator reports, after the call: agents' dispositions and callers' survey answers, computed
from call records (pure, no I/O), for `ivr report` and the wallboard.

Definitions, as operators read them:

- `dispositioned`: calls whose agent keyed a wrap-up code, or keyed none ("skipped");
  calls no agent took have no disposition and are in no disposition figure. Per region and
  code: `count`, and `share` = count / the region's dispositioned calls. "skipped" is a code
  of its own, always listed last, so a region's shares add up to 100 %.
- `asked`: calls whose caller was asked to rate the call after the agent hung up
  (`surveyed_at` set; a call with a rating counts as asked even if the record of the question
  was lost). `answered`: asked calls with a rating (1-5); `response_rate` = answered / asked.
- `average_rating`: the mean rating of the answered calls, rounded half up to one decimal
  (4.25 is 4.3), once, here, so every screen shows the same figure.
- `comments`: asked calls whose caller left a recorded comment with words in it (a silent
  recording is kept only so the retention purge deletes it).
- Survey figures are kept per agent, region, language and disposition, each over the asked
  calls; a call whose agent, region, language or disposition is not recorded counts under
  UNKNOWN ("?").

Every rate is None when its denominator is zero: "no data" must not read as 0 %.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ivr.config.regions import SKIPPED
from ivr.store.reports import TOTAL, UNKNOWN_REGION
from ivr.store.repository import CallRecord

# The group of a call whose agent, language or disposition was never recorded; the same mark
# as an unknown region, which is never a valid id, code or agent name.
UNKNOWN = UNKNOWN_REGION


@dataclass(frozen=True)
class CodeCount:
    """How many of a region's dispositioned calls got one code, and their share."""

    code: str
    count: int
    share: float | None


@dataclass(frozen=True)
class RegionDispositions:
    """The wrap-up codes of one region's calls (or of every region's, region == TOTAL)."""

    region: str
    dispositioned: int
    codes: tuple[CodeCount, ...]


@dataclass(frozen=True)
class SurveyFigures:
    """The survey answers of one agent, region, language or disposition (`name`)."""

    name: str
    asked: int
    answered: int
    response_rate: float | None
    average_rating: float | None
    comments: int


@dataclass(frozen=True)
class SurveyReport:
    """The survey answers of some calls, grouped four ways, each sorted by name; and all of
    them together (named TOTAL)."""

    agents: tuple[SurveyFigures, ...]
    regions: tuple[SurveyFigures, ...]
    languages: tuple[SurveyFigures, ...]
    dispositions: tuple[SurveyFigures, ...]
    total: SurveyFigures


def dispositions_by_region(calls: Iterable[CallRecord]) -> list[RegionDispositions]:
    """One line per region with a dispositioned call, sorted by region id."""
    by_region: dict[str, list[CallRecord]] = {}
    for call in calls:
        if call.disposition is not None:
            by_region.setdefault(call.region or UNKNOWN_REGION, []).append(call)
    return [region_dispositions(region, by_region[region]) for region in sorted(by_region)]


def region_dispositions(
    region: str, calls: Iterable[CallRecord], order: Sequence[str] = ()
) -> RegionDispositions:
    """The codes of `calls`, all taken as `region`'s: those in `order` first (a region's own
    list, in the order its agents key them), then the others by count, most first, then by
    name; SKIPPED last. Only codes that some call got are listed."""
    counts = Counter(call.disposition for call in calls if call.disposition is not None)
    dispositioned = sum(counts.values())
    listed = [code for code in order if counts[code] and code != SKIPPED]
    others = sorted(
        (code for code in counts if code not in listed and code != SKIPPED),
        key=lambda code: (-counts[code], code),
    )
    codes = [*listed, *others, *([SKIPPED] if counts[SKIPPED] else [])]
    return RegionDispositions(
        region=region,
        dispositioned=dispositioned,
        codes=tuple(
            CodeCount(code, counts[code], _share(counts[code], dispositioned)) for code in codes
        ),
    )


def survey_report(calls: Iterable[CallRecord]) -> SurveyReport:
    """The survey answers of `calls` per agent, region, language and disposition."""
    asked = [call for call in calls if was_asked(call)]
    return SurveyReport(
        agents=_grouped(asked, lambda call: call.agent),
        regions=_grouped(asked, lambda call: call.region),
        languages=_grouped(asked, lambda call: call.language),
        dispositions=_grouped(asked, lambda call: call.disposition),
        total=survey_figures(TOTAL, asked),
    )


def survey_figures(name: str, calls: Iterable[CallRecord]) -> SurveyFigures:
    """The survey answers of `calls` (those never asked are left out), named `name`."""
    asked = [call for call in calls if was_asked(call)]
    ratings = [call.rating for call in asked if call.rating is not None]
    return SurveyFigures(
        name=name,
        asked=len(asked),
        answered=len(ratings),
        response_rate=_share(len(ratings), len(asked)),
        average_rating=average_rating(ratings),
        comments=sum(1 for call in asked if call.comment_url and call.comment_seconds > 0),
    )


def was_asked(call: CallRecord) -> bool:
    """The caller was asked to rate the call (a rating means they were, whatever was lost)."""
    return call.surveyed_at is not None or call.rating is not None


def average_rating(ratings: Sequence[int]) -> float | None:
    """The mean of `ratings` rounded half up to one decimal; None for no ratings. Integer
    arithmetic, so 4.25 is 4.3 (round() would give 4.2, and a script's rounding another)."""
    if not ratings:
        return None
    tenths = (20 * sum(ratings) + len(ratings)) // (2 * len(ratings))
    return tenths / 10


def _grouped(
    calls: Sequence[CallRecord], group: Callable[[CallRecord], str | None]
) -> tuple[SurveyFigures, ...]:
    by_name: dict[str, list[CallRecord]] = {}
    for call in calls:
        by_name.setdefault(group(call) or UNKNOWN, []).append(call)
    return tuple(survey_figures(name, by_name[name]) for name in sorted(by_name))


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None
