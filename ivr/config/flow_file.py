"""flows.toml read and checked: every problem with file, line and reason (unknown settings,
keys used twice, targets and nodes that do not exist or cannot be reached, prompt keys missing
in a language the flow is offered in), and each region's changes applied."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ivr.config.flow_rules import flow_problems, missing_prompts, reachable, targets
from ivr.config.flows import (
    BUILT_IN,
    KEYS,
    KINDS,
    NODE_ID,
    TARGETS,
    Budgets,
    Flow,
    FlowBook,
    GuidanceLine,
    Node,
    Option,
)
from ivr.config.prompts import Catalogue
from ivr.config.regions import RegionBook
from ivr.config.tomlfile import ConfigError, ConfigProblem, TomlDocument, load_toml

# -- reading and checking ---------------------------------------------------------------------
_FILE_KEYS = {"default", "budgets", "flows", "regions"}
_FLOW_KEYS = {
    "main",
    "welcome",
    "after_guidance",
    "speech_priority",
    "nodes",
    "barge_in",
    "person_in_language_menu",
}
_NODE_KEYS = {"kind", "say", "options", "guidance", "priority", "reference", "topic"}
_OPTION_KEYS = {"key", "to", "say", "say_closed", "speech"}
_REGION_KEYS = {"flow", "nodes"}
_CHANGE_KEYS = {"drop", "add"}


class _Reader:
    """Turns the parsed file into typed flows, collecting every problem with its line."""

    def __init__(self, document: TomlDocument) -> None:
        self.document = document
        self.problems: list[ConfigProblem] = []

    def problem(self, path: tuple[str | int, ...], reason: str) -> None:
        self.problems.append(self.document.problem(path, reason))

    def line(self, path: tuple[str | int, ...]) -> int:
        return self.document.line_of(path)

    def table(self, value: object, path: tuple[str | int, ...], known: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.problem(path, "expected a table")
            return {}
        for key in value:
            if key not in known:
                self.problem(
                    (*path, key), f"unknown setting {key!r}; known: {', '.join(sorted(known))}"
                )
        return value

    def strings(self, value: object, path: tuple[str | int, ...]) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return tuple(value)
        self.problem(path, "expected a prompt key or a list of them")
        return ()

    def flags(
        self,
        data: dict[str, Any],
        path: tuple[str | int, ...],
        names: tuple[str, ...],
        default: bool,
    ) -> dict[str, bool]:
        """Settings that are true or false; a wrong value is a problem, and reads as `default`."""
        flags = {}
        for name in names:
            flag = data.get(name, default)
            if not isinstance(flag, bool):
                self.problem((*path, name), "expected true or false")
                flag = default
            flags[name] = flag
        return flags

    def budgets(self, value: object) -> Budgets:
        data = self.table(value, ("budgets",), set(Budgets.__dataclass_fields__))
        values: dict[str, Any] = {}
        for name, default in Budgets().__dict__.items():
            given = data.get(name, default)
            if isinstance(given, bool) or not isinstance(given, int | float) or given <= 0:
                self.problem(("budgets", name), "expected a positive number")
                continue
            values[name] = type(default)(given)
        return Budgets(**values)

    def option(self, value: object, path: tuple[str | int, ...]) -> Option | None:
        data = self.table(value, path, _OPTION_KEYS)
        key, to = data.get("key"), data.get("to")
        if not isinstance(key, str) or key not in KEYS:
            self.problem(path, "an option needs `key`: one of 0-9, * or #")
            return None
        if not isinstance(to, str) or not to:
            self.problem(path, "an option needs `to`: a node of the flow or one of " + targets())
            return None
        texts = {}
        for name in ("say", "say_closed", "speech"):
            text = data.get(name)
            if text is not None and not isinstance(text, str):
                self.problem((*path, name), "expected a prompt key")
                text = None
            texts[name] = text
        return Option(key, to, **texts, line=self.line(path))

    def options(self, value: object, path: tuple[str | int, ...]) -> tuple[Option, ...]:
        if not isinstance(value, list):
            self.problem(path, "expected a list of options")
            return ()
        found = tuple(self.option(item, (*path, i)) for i, item in enumerate(value))
        return tuple(option for option in found if option is not None)

    def guidance(self, value: object, path: tuple[str | int, ...]) -> tuple[GuidanceLine, ...]:
        if not isinstance(value, list):
            self.problem(path, "expected a list of prompt keys")
            return ()
        lines = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                lines.append(GuidanceLine(item))
            elif isinstance(item, dict) and item.get("read") == "channels" and len(item) == 1:
                lines.append(GuidanceLine(None, channels=True))
            elif (
                isinstance(item, dict)
                and set(item) == {"say", "key"}
                and isinstance(item["say"], str)
                and isinstance(item["key"], str)
                and item["key"] in KEYS
            ):
                lines.append(GuidanceLine(item["say"], key=item["key"]))
            else:
                self.problem(
                    (*path, i),
                    'expected a prompt key, { say = "<prompt>", key = "<key>" } '
                    'or { read = "channels" }',
                )
        return tuple(lines)

    def node(self, node_id: str, value: object, path: tuple[str | int, ...]) -> Node | None:
        data = self.table(value, path, _NODE_KEYS)
        if not NODE_ID.fullmatch(node_id) or node_id in BUILT_IN | TARGETS:
            self.problem(
                path,
                f"node id {node_id!r}: lower-case letters, digits and _, at most 16, "
                f"and none of {', '.join(sorted(BUILT_IN | TARGETS))}",
            )
            return None
        kind = data.get("kind")
        if kind not in KINDS:
            self.problem((*path, "kind"), f"`kind` must be one of {', '.join(KINDS)}")
            return None
        flags = self.flags(data, path, ("priority", "reference"), default=False)
        topic = data.get("topic")
        if topic is not None and not isinstance(topic, str):
            self.problem((*path, "topic"), "expected a prompt key")
            topic = None
        say = self.strings(data["say"], (*path, "say")) if "say" in data else ()
        options = self.options(data.get("options", []), (*path, "options"))
        guidance = self.guidance(data.get("guidance", []), (*path, "guidance"))
        if kind == "guidance" and not guidance:
            self.problem(path, "a guidance node needs `guidance`: the prompt keys it reads out")
        if kind != "guidance" and not options:
            self.problem(path, f"a {kind} node needs `options`")
        if kind == "guidance" and options:
            self.problem((*path, "options"), "guidance ends with the flow's `after_guidance`")
        return Node(
            node_id,
            kind,
            say,
            options,
            guidance,
            flags["priority"],
            flags["reference"],
            topic,
            self.line(path),
        )

    def flow(self, name: str, value: object, budgets: Budgets, file: Path) -> Flow | None:
        path: tuple[str | int, ...] = ("flows", name)
        data = self.table(value, path, _FLOW_KEYS)
        nodes_data = self.table(data.get("nodes", {}), (*path, "nodes"), set(data.get("nodes", {})))
        nodes = {}
        for node_id, node_value in nodes_data.items():
            node = self.node(node_id, node_value, (*path, "nodes", node_id))
            if node is not None:
                nodes[node_id] = node
        main = data.get("main")
        if not isinstance(main, str):
            self.problem(path, "a flow needs `main`: the id of its main menu")
            return None
        flags = self.flags(data, path, ("barge_in", "person_in_language_menu"), default=True)
        return Flow(
            name,
            main,
            self.guidance(data.get("welcome", []), (*path, "welcome")),
            MappingProxyType(nodes),
            self.options(data.get("after_guidance", []), (*path, "after_guidance")),
            self.strings(data.get("speech_priority", []), (*path, "speech_priority")),
            budgets,
            file,
            self.line(path),
            barge_in=flags["barge_in"],
            person_in_language_menu=flags["person_in_language_menu"],
        )


# -- regions' own changes ---------------------------------------------------------------------
def _changed(reader: _Reader, flow: Flow, region_id: str, value: object) -> Flow:
    """`flow` with a region's options dropped and added, node by node."""
    path: tuple[str | int, ...] = ("regions", region_id, "nodes")
    changes = reader.table(value, path, set(value) if isinstance(value, dict) else set())
    nodes = dict(flow.nodes)
    for node_id, change in changes.items():
        where = (*path, node_id)
        data = reader.table(change, where, _CHANGE_KEYS)
        node = nodes.get(node_id)
        if node is None or node.kind == "guidance":
            reader.problem(where, f"flow {flow.name!r} has no menu {node_id!r} to change")
            continue
        drop = reader.strings(data.get("drop", []), (*where, "drop"))
        for key in drop:
            if node.option_for(key) is None:
                reader.problem((*where, "drop"), f"menu {node_id!r} has no key {key!r} to drop")
        added = reader.options(data.get("add", []), (*where, "add"))
        kept = tuple(option for option in node.options if option.key not in drop)
        # The region's menu is where its change is written: findings point there.
        nodes[node_id] = replace(node, options=kept + added, line=reader.line(where))
    changed = replace(flow, nodes=MappingProxyType(nodes), said={})
    # Nodes only a dropped option led to are not the region's (a stale link to one restarts).
    kept_nodes = reachable(changed)
    pruned = {node_id: node for node_id, node in nodes.items() if node_id in kept_nodes}
    return replace(changed, nodes=MappingProxyType(pruned))


def load_flows(file: Path, regions: RegionBook, prompts: Catalogue | None = None) -> FlowBook:
    """Read and check the flow file against the regions and prompts; raises ConfigError with
    file, line and reason for every problem found."""
    if not file.is_file():
        problem = ConfigProblem(file, 1, "", "flow file not found (set IVR_FLOWS)")
        raise ConfigError([problem])
    document = load_toml(file)
    reader = _Reader(document)
    data = reader.table(document.data, (), _FILE_KEYS)
    budgets = reader.budgets(data.get("budgets", {}))
    flows_data = reader.table(data.get("flows", {}), ("flows",), set(data.get("flows", {})))
    flows = {}
    for name, value in flows_data.items():
        flow = reader.flow(name, value, budgets, file)
        if flow is not None:
            flows[name] = flow
    default_name = data.get("default")
    if not isinstance(default_name, str) or default_name not in flows:
        reader.problem(("default",), f"`default` must name a flow: one of {', '.join(flows)}")
        raise ConfigError(reader.problems)
    by_region: dict[str, Flow] = {}
    regions_data = reader.table(data.get("regions", {}), ("regions",), set(regions.regions))
    for region_id, value in regions_data.items():
        if region_id not in regions.regions:
            continue  # reported by `table`: no such region in the regions file
        path: tuple[str | int, ...] = ("regions", region_id)
        spec = reader.table(value, path, _REGION_KEYS)
        name = spec.get("flow", default_name)
        base = flows.get(name) if isinstance(name, str) else None
        if base is None:
            reader.problem((*path, "flow"), f"no flow {name!r}; known: {', '.join(flows)}")
            continue
        by_region[region_id] = (
            _changed(reader, base, region_id, spec["nodes"]) if "nodes" in spec else base
        )
    lines = document.lines
    for name, flow in flows.items():
        reader.problems += flow_problems(file, flow, ("flows", name), lines)
    for region_id, flow in by_region.items():
        if flow not in flows.values():
            reader.problems += flow_problems(file, flow, ("regions", region_id), lines)
    if prompts is not None:
        for name, flow in flows.items():
            users = [
                r
                for r in regions.regions.values()
                if by_region.get(r.id, flows[default_name]) is flow
            ]
            languages = {lang for region in users for lang in region.languages}
            reader.problems += missing_prompts(file, flow, prompts, languages, f"flows.{name}")
        for region_id, flow in by_region.items():
            if flow not in flows.values():
                offered = regions.regions[region_id].languages
                where = f"regions.{region_id}"
                reader.problems += missing_prompts(file, flow, prompts, offered, where)
    if reader.problems:
        raise ConfigError(reader.problems)
    return FlowBook(MappingProxyType(flows), MappingProxyType(by_region), flows[default_name])
