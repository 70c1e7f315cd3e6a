"""What a read flow must be: a main menu and a ways menu that ends somewhere, every menu with
options, targets that exist, keys used once, every node reachable, `say_closed` and callbacks
only where the engine honours them, and every prompt key and speech words key it names present
in each language it is offered in. Each problem carries the file and line of its cause."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ivr.config.flows import CALLBACK, GOODBYE, TARGETS, VOICEMAIL, WAYS, Flow, Option
from ivr.config.prompts import Catalogue
from ivr.config.tomlfile import ConfigProblem

Where = tuple[str | int, ...]


def targets() -> str:
    return ", ".join(sorted(TARGETS))


def flow_problems(
    file: Path, flow: Flow, path: Where, line_of: dict[Where, int]
) -> list[ConfigProblem]:
    """Every problem of `flow` read at `path` ("flows", name) or ("regions", id)."""
    problems: list[ConfigProblem] = []

    def problem(where: Where, line: int | None, reason: str) -> None:
        problems.append(ConfigProblem(file, line or _line(line_of, where), _dotted(where), reason))

    main = flow.nodes.get(flow.main)
    if main is None or main.kind != "menu":
        problem((*path, "main"), None, f"`main` names {flow.main!r}, which is no menu of the flow")
    ways = flow.nodes.get(WAYS)
    if ways is None or ways.kind != "ways":
        problem((*path, "nodes"), None, f'the flow needs a node {WAYS!r} of kind "ways"')
    elif not any(option.to in (CALLBACK, VOICEMAIL, GOODBYE) for option in ways.options):
        problem(
            (*path, "nodes", WAYS),
            ways.line,
            "the ways menu needs a callback, a voice message or goodbye: callers who cannot "
            "reach a person must be able to leave",
        )
    menus: list[tuple[str, str, tuple[Option, ...], int]] = [
        (node.id, node.kind, node.options, node.line) for node in flow.nodes.values()
    ]
    menus.append(("after_guidance", "after_guidance", flow.after_guidance, flow.line))
    for node_id, kind, options, line in menus:
        where = (*path, "nodes", node_id) if kind != "after_guidance" else (*path, node_id)
        if kind in ("menu", "ways") and not options:
            problem(where, line, f"menu {node_id!r} has no options left")
        seen: set[str] = set()
        for option in options:
            for reason in _option_problems(option, kind, flow, seen):
                problem(where, option.line, reason)
            seen.add(option.key)
    for node_id in sorted(set(flow.nodes) - reachable(flow)):
        problem((*path, "nodes", node_id), None, f"node {node_id!r} cannot be reached from `main`")
    if path[0] == "flows":  # a region's changes keep its flow's order of speech
        for target in flow.speech_priority:
            if target not in TARGETS and target not in flow.nodes:
                problem((*path, "speech_priority"), None, f"{target!r} is no node nor target")
    return problems


def _option_problems(option: Option, kind: str, flow: Flow, seen: set[str]) -> Iterable[str]:
    if option.key in seen:
        yield f"key {option.key!r} is used twice"
    if option.to not in TARGETS and option.to not in flow.nodes:
        yield (
            f"key {option.key!r} leads to {option.to!r}, which is no node of the flow nor one "
            f"of {targets()}"
        )
    # The engine words a callback by whether agents are open, and offers it only to callers it
    # may call back, in the ways menu.
    if kind != "ways" and option.to == CALLBACK:
        yield f"key {option.key!r}: a callback is offered from the ways menu only"
    if kind != "ways" and option.say_closed:
        yield f"key {option.key!r}: `say_closed` is read in the ways menu only"


def reachable(flow: Flow) -> set[str]:
    """Nodes a caller can reach from the main menu; the ways menu is where a person asked for
    and not available leads."""
    found = {flow.main, WAYS}
    todo = [flow.main, WAYS]
    while todo:
        node = flow.nodes.get(todo.pop())
        if node is None:
            continue
        for option in flow.options_of(node):
            if option.to in flow.nodes and option.to not in found:
                found.add(option.to)
                todo.append(option.to)
    return found


def prompt_keys(flow: Flow) -> Iterable[tuple[str, int]]:
    """Every prompt key the flow names for a line said, with the line naming it."""
    for line in flow.welcome:
        if line.prompt:
            yield line.prompt, flow.line
    for option in flow.after_guidance:
        yield from _option_prompts(option)
    for node in flow.nodes.values():
        for key in (*node.say, *(line.prompt for line in node.guidance if line.prompt)):
            yield key, node.line
        if node.topic:
            yield node.topic, node.line
        for option in node.options:
            yield from _option_prompts(option)


def _option_prompts(option: Option) -> Iterable[tuple[str, int]]:
    for key in (option.say, option.say_closed, option.speech):
        if key:
            yield key, option.line


def missing_prompts(
    file: Path, flow: Flow, prompts: Catalogue, languages: Iterable[str], where: str
) -> list[ConfigProblem]:
    """A prompt key (or an option's `speech` words key) the flow names that a language it is
    offered in lacks."""
    problems = []
    offered = sorted(set(languages))
    for key, line in dict(prompt_keys(flow)).items():
        lacking = [lang for lang in offered if key not in prompts.entries.get(lang, {})]
        if lacking:
            reason = f"prompt {key!r} is missing in {', '.join(lacking)} (prompts/<lang>/)"
            problems.append(ConfigProblem(file, line, where, reason))
    return problems


def _line(line_of: dict[Where, int], path: Where) -> int:
    key = path
    while key:
        if key in line_of:
            return line_of[key]
        key = key[:-1]
    return 1


def _dotted(path: Where) -> str:
    return ".".join(str(part) for part in path)
