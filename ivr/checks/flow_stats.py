"""`ivr graph --stats`: how many callers reached each question of the drawn menu tree, how many
were served there and how many hung up there, counted from the calls' recorded paths.

A call's path keeps its answers only ("main:3 tx:0 ref:#"): the question a caller answered, and
what they keyed ("~" speech, "-" silence, "#" a number or any key at the reference and
callback-number questions). Each call is followed through the menu walk of its region and
language (`ivr.checks.menu_walk`, the engine's own answers), so it lands in the boxes drawn:

- The call starts at the walk's first question. Each answer is given at a question of its
  node, and the next answer's node says where the caller went: the question there that the
  key leads to, else one any key leads to (speech, a way out after misses), else the one
  asked for the same reason, else the first in the walk. After the last answer the caller
  went where the walk says that key leads; speech, silence, a miss or "repeat" leave them
  where they were, and so does a key to a queue, a callback or a voice message the record
  does not show (they hung up on the way). A node the walk never asks at (the ways menu while
  agents are open, say) is counted under its name, and `summary` names it.
- Its language is the one chosen at the language question ("lang:2"), else the record's; a
  caller who never chose one counts in the region's first language.
- Calls refused at screening (outcome "rejected") never reach a menu and are not counted;
  nor are calls of a region or language not drawn.

Per box, over the calls counted in its tree:

- `reached`: calls that were at one of the box's questions at least once.
- `served`: calls that ended well from the box: handed on from it (outcome queued, bridged,
  abandoned, callback or voicemail: the last answer was given there, whatever happened in the
  queue after; `ivr report` has waits and abandonment), told the other channels and wished
  goodbye from it, or hung up at a guidance box: one that offers nothing but a person (0) and
  the main menu (#), its answer read out.
- `left`: calls that hung up at the box, not served: the drop-off.

Every call ends at exactly one box, which it reached: served there, left there, or neither
(outcome "error": our failure, not the caller's choice). So reached >= served + left in every
box, and a box's reached - served - left callers went on to another box (or met an error).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from ivr.checks.graph import START, Tree, box_names, tree_name
from ivr.checks.menu_walk import GOODBYE, Answer, MenuWalk
from ivr.config.regions import Region
from ivr.engine.state import Node

DEFAULT_SINCE = "7d"
LONGEST_SINCE = timedelta(days=3650)
_DURATION = re.compile(r"([0-9]{1,7})([wdhm])")
_UNITS = {"w": "weeks", "d": "days", "h": "hours", "m": "minutes"}

# Outcomes of a call handed on from the menus (ivr.store.repository.OUTCOME_RANK).
HANDED_ON = frozenset({"queued", "bridged", "abandoned", "callback", "voicemail"})
REFUSED, FAILED = "rejected", "error"
# Questions whose keys the path keeps as "#" (ivr.web.routes.calls): a number, or any key.
KEYED = frozenset({str(Node.REFERENCE), str(Node.CALLBACK_NUMBER)})
LANGUAGE = str(Node.LANGUAGE)
SERVED, LEFT = "served", "left"


class Tally(Protocol):
    """Calls that took one path to one outcome (`ivr.store.journeys.PathTally`)."""

    @property
    def region(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def path(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def calls(self) -> int: ...


@dataclass(frozen=True)
class BoxCounts:
    reached: int = 0
    served: int = 0
    left: int = 0

    @property
    def line(self) -> str:
        return f"{self.reached} reached · {self.served} served · {self.left} left"

    @property
    def drop_off(self) -> float | None:
        """The share of the callers who reached the box that left there; None: nobody came."""
        return self.left / self.reached if self.reached else None


@dataclass(frozen=True)
class Journey:
    """Where one call went in its tree: the boxes in the order first reached, and its end."""

    boxes: tuple[str, ...]
    ended: str  # the box the call ended at
    how: str  # SERVED, LEFT, or FAILED (ended by an error)


@dataclass(frozen=True)
class FlowCounts:
    """The counts of every drawn tree (by name, "cn zh-CN"), box by box."""

    trees: dict[str, dict[str, BoxCounts]] = field(default_factory=dict)
    counted: int = 0  # calls followed through a drawn tree
    refused: int = 0  # refused at screening
    elsewhere: int = 0  # of a region or language not drawn (or never learned)


def since_duration(text: str) -> timedelta:
    """A duration as an operator writes it ("7d", "2w", "24h", "30m"); ValueError saying what
    to give for anything else."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError("give a duration such as 7d, 2w, 24h or 30m (days, weeks, hours, minutes)")
    length = timedelta(**{_UNITS[match[2]]: int(match[1])})
    if not timedelta(0) < length <= LONGEST_SINCE:
        raise ValueError(f"give a duration above zero and at most {LONGEST_SINCE.days}d")
    return length


def count_calls(walks: Sequence[MenuWalk], tallies: Iterable[Tally]) -> FlowCounts:
    """The counts per box of each walk's tree, from calls grouped by path and outcome."""
    by_tree = {(walk.region.id, walk.language): walk for walk in walks}
    regions = {walk.region.id: walk.region for walk in walks}
    names = {key: box_names(walk) for key, walk in by_tree.items()}
    reached: Counter[tuple[str, str]] = Counter()
    served: Counter[tuple[str, str]] = Counter()
    left: Counter[tuple[str, str]] = Counter()
    counted = refused = elsewhere = 0
    for tally in tallies:
        if tally.outcome == REFUSED:
            refused += tally.calls
            continue
        region = regions.get(tally.region or "")
        entries = _entries(tally.path)
        key = (region.id, _language(region, tally.language, entries)) if region else None
        if key is None or key not in by_tree:
            elsewhere += tally.calls
            continue
        name = tree_name(by_tree[key])
        journey = _follow(by_tree[key], names[key], entries, tally.outcome)
        counted += tally.calls
        reached.update(dict.fromkeys(((name, box) for box in journey.boxes), tally.calls))
        if journey.how == SERVED:
            served[name, journey.ended] += tally.calls
        elif journey.how == LEFT:
            left[name, journey.ended] += tally.calls
    trees: dict[str, dict[str, BoxCounts]] = {tree_name(walk): {} for walk in walks}
    for name, box in reached:
        trees[name][box] = BoxCounts(reached[name, box], served[name, box], left[name, box])
    return FlowCounts(trees, counted, refused, elsewhere)


def follow(walk: MenuWalk, path: str, outcome: str) -> Journey:
    """Where a call with `path` and `outcome` went in `walk`'s tree (see the module's notes)."""
    return _follow(walk, box_names(walk), _entries(path), outcome)


def with_counts(tree: Tree, counts: Mapping[str, BoxCounts]) -> Tree:
    """`tree` with each question's counts as a second label line, and its drop-off."""
    boxes = []
    for box in tree.boxes:
        if box.id == START or box.end:
            boxes.append(box)
            continue
        figures = counts.get(box.id, BoxCounts())
        label = f"{box.label}\n{figures.line}"
        boxes.append(replace(box, label=label, drop_off=figures.drop_off))
    return replace(tree, boxes=tuple(boxes))


def summary(
    counts: FlowCounts,
    trees: Sequence[Tree],
    start: datetime,
    end: datetime,
    *,
    every_path: bool = True,
) -> str:
    """What was counted, for the operator (the diagram says the rest); `every_path` False: the
    store read only the most taken paths (ivr.store.journeys.MAX_PATHS)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lines = [
        f"calls from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC: {counts.counted} counted,"
        f" {counts.refused} refused at screening, {counts.elsewhere} of other regions or languages"
    ]
    for one in trees:
        drawn = {box.id for box in one.boxes}
        missing = {b: c for b, c in counts.trees.get(one.name, {}).items() if b not in drawn}
        if missing:
            found = ", ".join(f"{box} ({c.reached} reached)" for box, c in missing.items())
            lines.append(f"{one.name}: not in this drawing (try --closed or --at): {found}")
    if not every_path:
        lines.append("only the most taken paths were read: the rarest are not counted")
    return "\n".join(lines)


# -- one call --------------------------------------------------------------------------------
def _follow(
    walk: MenuWalk, names: Mapping[str, str], entries: Sequence[tuple[str, str]], outcome: str
) -> Journey:
    here = walk.first
    seen = [here]
    for index, (node, key) in enumerate(entries):
        here = _at_node(walk, here, node)
        seen.append(here)
        if index + 1 < len(entries):
            here = _after(walk, here, key, entries[index + 1][0])
            seen.append(here)
    ended, told_goodbye = here, False
    if outcome not in HANDED_ON and entries:
        target = _led_to(walk, here, entries[-1][1])
        if target in walk.questions:
            ended = target
            seen.append(target)
        told_goodbye = target == GOODBYE
    if outcome == FAILED:
        how = FAILED
    elif outcome in HANDED_ON or told_goodbye or _is_guidance(walk, ended):
        how = SERVED
    else:
        how = LEFT
    boxes = tuple(dict.fromkeys(names.get(question, question) for question in seen))
    return Journey(boxes, names.get(ended, ended), how)


def _entries(path: str) -> list[tuple[str, str]]:
    """The path's menu answers as (node, keys); the screening's mark and answers to a question
    the call had lost ("?:1": the caller heard the start again) are left out."""
    entries = []
    for answer in path.split():
        node, _, keys = answer.partition(":")
        if node not in ("?", "rejected"):
            entries.append((node, keys))
    return entries


def _language(region: Region, recorded: str | None, entries: Sequence[tuple[str, str]]) -> str:
    """The language the caller chose at the language question, else the record's (the
    language of their last answer), else the region's first."""
    language = recorded or region.default_language
    for node, keys in entries:
        if node == LANGUAGE and keys.isdigit() and 1 <= int(keys) <= len(region.languages):
            language = region.languages[int(keys) - 1]
    return language


def _node(walk: MenuWalk, question: str) -> str:
    state = walk.questions.get(question)
    return question if state is None else str(state.node)


def _at_node(walk: MenuWalk, here: str, node: str) -> str:
    """The question at `node` the caller is at, coming from `here`: `here` itself, one that
    `here` leads to, one asked for the same reason, the first in the walk; or, when the walk
    never asks at `node` (not at this hour, say), the node's name."""
    if _node(walk, here) == node:
        return here
    for answer in walk.answers.get(here, ()):
        if answer.target in walk.questions and _node(walk, answer.target) == node:
            return answer.target
    at_node = [q for q in walk.questions if _node(walk, q) == node]
    state = walk.questions.get(here)
    reasons = (state.reason, str(state.node)) if state is not None else ()
    same_reason = [q for q in at_node if walk.questions[q].reason in reasons]
    return next(iter(same_reason or at_node), node)


def _after(walk: MenuWalk, here: str, keys: str, next_node: str) -> str:
    """Where `keys` at `here` took the caller, who answered next at `next_node`."""
    for answer in _answers(walk, here, keys):
        if answer.target in walk.questions and _node(walk, answer.target) == next_node:
            return answer.target
    return _at_node(walk, here, next_node)


def _led_to(walk: MenuWalk, here: str, keys: str) -> str | None:
    """Where the last answer led: a question, else an end; None when it led nowhere the walk
    knows (speech, silence, a miss, "repeat")."""
    answers = _answers(walk, here, keys)
    questions = [a.target for a in answers if a.target in walk.questions]
    return next(iter(questions or [a.target for a in answers]), None)


def _answers(walk: MenuWalk, here: str, keys: str) -> tuple[Answer, ...]:
    answers = walk.answers.get(here, ())
    if _node(walk, here) in KEYED and keys == "#":
        return answers  # a number or any key: whichever the rest of the path fits
    return tuple(answer for answer in answers if answer.entry == keys)


def _is_guidance(walk: MenuWalk, question: str) -> bool:
    """A guidance node of the call's flow: its answer has been read out, so a caller hanging
    up there was served by it."""
    state = walk.questions.get(question)
    node = walk.context.flow.nodes.get(str(state.node)) if state is not None else None
    return node is not None and node.kind == "guidance"
