"""`ivr graph`: the menu tree of each region and language as Graphviz DOT, Mermaid or SVG.

Drawn from `ivr.checks.menu_walk`, which answers the real engine, so the diagram cannot drift from
what callers hear. Questions that differ only in why the caller wants an agent, and that
lead to the same places, are drawn once (the callback questions after each guidance, say).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import pytz

from ivr.checks.menu_walk import MenuWalk, is_end, question_text

START = "call"


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    end: bool  # a queue, a callback, a voice message or goodbye: nothing is asked after it
    # The share of the callers who reached the box that hung up there (`ivr graph --stats`,
    # ivr.checks.flow_stats); None: not counted.
    drop_off: float | None = None


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    keys: str  # "1", "0 / #", "digits"; empty for the call's first answer


@dataclass(frozen=True)
class Tree:
    """One region and language, ready to draw."""

    name: str  # "cn zh-CN"
    caption: str  # "cn zh-CN, agents open (Mon 2026-03-02 09:00 Asia/Shanghai)"
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]


class GraphvizMissing(Exception):
    """`dot` is not installed, so no SVG can be drawn."""


def tree(walk: MenuWalk) -> Tree:
    """The questions and ends of `walk`, same-behaving questions merged, keys grouped."""
    names = box_names(walk)
    representative: dict[str, str] = {}
    for question in walk.questions:  # walk order: the first of a box draws it
        representative.setdefault(names[question], question)
    boxes = [Box(START, "call", end=False)]
    boxes += [
        Box(names[q], f"{names[q]}\n{question_text(walk, q)}".rstrip(), end=False)
        for q in representative.values()
    ]
    boxes += [Box(end, end, end=True) for end in walk.ends()]
    arrows = [Arrow(START, names[walk.first], "")]
    for question in representative.values():
        grouped: dict[str, list[str]] = {}
        for answer in walk.answers[question]:
            target = answer.target if is_end(answer.target) else names[answer.target]
            grouped.setdefault(target, []).append(answer.entry)
        arrows += [Arrow(names[question], t, " / ".join(k)) for t, k in grouped.items()]
    region = walk.region
    when = walk.context.now.astimezone(pytz.timezone(region.timezone))
    hours = "agents open" if walk.agents_open else "agents closed"
    name = tree_name(walk)
    caption = f"{name}, {hours} ({when:%a %Y-%m-%d %H:%M} {region.timezone})"
    return Tree(name, caption, tuple(boxes), tuple(arrows))


def tree_name(walk: MenuWalk) -> str:
    """The drawn tree's name: region and language ("cn zh-CN")."""
    return f"{walk.region.id} {walk.language}"


def box_names(walk: MenuWalk) -> dict[str, str]:
    """Question -> the box it is drawn in: its node ("ref"), or its node and the reasons for
    an agent when the node has boxes that behave differently ("ref (pending)")."""
    classes = _merged(walk)
    representative: dict[str, str] = {}
    for question in walk.questions:  # walk order: the first of a class names it
        representative.setdefault(classes[question], question)
    return _names(walk, classes, representative)


def _merged(walk: MenuWalk) -> dict[str, str]:
    """Question -> class: questions at the same node whose keys lead to the same classes
    share one (refined until nothing changes, like minimising an automaton)."""
    classes = {q: str(state.node) for q, state in walk.questions.items()}
    while True:
        signatures = {
            q: (classes[q], tuple(sorted((a.entry, classes.get(a.target, a.target)) for a in ans)))
            for q, ans in walk.answers.items()
        }
        numbered = {
            sig: f"{sig[0]}#{n}" for n, sig in enumerate(dict.fromkeys(signatures.values()))
        }
        if len(numbered) == len(set(classes.values())):
            return classes
        classes = {q: numbered[sig] for q, sig in signatures.items()}


def _names(
    walk: MenuWalk, classes: dict[str, str], representative: dict[str, str]
) -> dict[str, str]:
    """Each question's box name: its node ("ref"), with the reasons for an agent when the
    node has several boxes ("ref (pending)"); the box with the most questions keeps the plain
    node name."""
    members: dict[str, list[str]] = {}
    for question, cls in classes.items():
        members.setdefault(cls, []).append(question)
    by_node: dict[str, list[str]] = {}
    for cls, first in representative.items():
        by_node.setdefault(str(walk.questions[first].node), []).append(cls)
    names: dict[str, str] = {}
    for node, node_classes in by_node.items():
        largest = max(node_classes, key=lambda c: len(members[c]))
        for cls in node_classes:
            plain = len(node_classes) == 1 or (
                cls == largest
                and sum(len(members[c]) == len(members[largest]) for c in node_classes) == 1
            )
            reasons = ", ".join(str(walk.questions[q].reason) for q in members[cls])
            name = node if plain else f"{node} ({reasons})"
            names.update(dict.fromkeys(members[cls], name))
    return names


# -- Graphviz DOT ---------------------------------------------------------------------------
def to_dot(trees: Sequence[Tree]) -> str:
    """One digraph; each region and language in a cluster of its own."""
    lines = [
        "digraph ivr {",
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="sans-serif"];',
        '  edge [fontname="sans-serif"];',
    ]
    for number, one in enumerate(trees):
        prefix = f"{one.name}/"
        lines += [f"  subgraph cluster_{number} {{", f"    label={_dot(one.caption)};"]
        for box in one.boxes:
            shape = ", shape=ellipse, style=filled, fillcolor=lightgrey" if box.end else ""
            if box.id == START:
                shape = ", shape=circle"
            if box.drop_off is not None:
                shape += _pen(box.drop_off)
            lines.append(f"    {_dot(prefix + box.id)} [label={_dot(box.label)}{shape}];")
        for arrow in one.arrows:
            source, target = _dot(prefix + arrow.source), _dot(prefix + arrow.target)
            lines.append(f"    {source} -> {target} [label={_dot(arrow.keys)}];")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _pen(drop_off: float) -> str:
    """The more of a box's callers hang up there, the thicker and redder its outline: 1 pt
    black when nobody does, 5 pt when everybody does, full red from half of them on."""
    red = round(255 * min(1.0, 2 * drop_off))
    return f", penwidth={1 + 4 * drop_off:.1f}, color={_dot(f'#{red:02x}0000')}"


def _dot(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# -- Mermaid ---------------------------------------------------------------------------------
def to_mermaid(trees: Sequence[Tree]) -> str:
    """A Mermaid flowchart; each region and language in a subgraph of its own."""
    lines = ["flowchart LR"]
    for number, one in enumerate(trees):
        ids = {box.id: f"t{number}n{index}" for index, box in enumerate(one.boxes)}
        lines.append(f'  subgraph t{number}["{_mermaid(one.caption)}"]')
        for box in one.boxes:
            label = _mermaid(box.label)
            if box.id == START:
                lines.append(f'    {ids[box.id]}(("{label}"))')
            elif box.end:
                lines.append(f'    {ids[box.id]}(["{label}"])')
            else:
                lines.append(f'    {ids[box.id]}["{label}"]')
        for arrow in one.arrows:
            keys = f'|"{_mermaid(arrow.keys)}"|' if arrow.keys else ""
            lines.append(f"    {ids[arrow.source]} -->{keys} {ids[arrow.target]}")
        lines.append("  end")
    return "\n".join(lines) + "\n"


def _mermaid(text: str) -> str:
    # Mermaid reads '#...;' as an entity inside labels: write the characters it would take
    # for markup as entity codes.
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text.replace("\n", "<br/>")


# -- SVG through Graphviz ---------------------------------------------------------------------
def to_svg(dot: str) -> bytes:
    """Graphviz's `dot -Tsvg` of `dot`; GraphvizMissing when it is not installed."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(
            "SVG needs Graphviz's `dot`, which is not installed (Debian: apt-get install "
            "graphviz); --format dot or --format mermaid work without it"
        )
    drawn = subprocess.run(
        [program, "-Tsvg"], input=dot.encode(), capture_output=True, check=False, timeout=120
    )
    if drawn.returncode != 0:
        raise GraphvizMissing(f"dot failed: {drawn.stderr.decode(errors='replace').strip()}")
    return drawn.stdout
