"""The caller's journey as data: flows.toml read, checked with file and line, and compiled.

A flow names its questions (menus, guidance, the ways menu), the keys of each and where they
lead, by prompt keys only: the sentences stay in prompts/<lang>/. Each region takes the default
flow or one it names, and may drop or add options of a node; a region without changes shares
its flow's compiled nodes. Budgets say what `ivr check` holds every line to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

# Where an option may lead besides a node of the flow.
AGENT, MAIN_MENU, REPEAT = "agent", "menu", "repeat"
CALLBACK, VOICEMAIL, GOODBYE = "callback", "voicemail", "goodbye"
TARGETS = frozenset({AGENT, MAIN_MENU, REPEAT, CALLBACK, VOICEMAIL, GOODBYE})
# The ways menu (a callback, a voice message, the channels) is reached when no person can take
# the call, so every flow has one, under this id.
WAYS = "ways"
# Questions the engine asks itself (the language, a reference, a number to call back): their
# ids travel in the same URLs, so no node may take them.
# "rejected" marks a screened call's path and is no question.
BUILT_IN = frozenset({"lang", "ref", "confirm", "cb", "cb_num", "cb_ok", "rejected"})
KEYS = frozenset("0123456789*#")
# Ids travel in URLs and are kept as a call's reason (16 characters in the database).
NODE_ID = re.compile(r"[a-z][a-z0-9_]{0,15}")
Kind = Literal["menu", "guidance", "ways"]
KINDS: tuple[Kind, ...] = ("menu", "guidance", "ways")


@dataclass(frozen=True)
class Budgets:
    """The caller's time a line may take, checked by `ivr check` in every offered language."""

    agent_named_seconds: float = 15.0  # the key for a person is named this soon after answer
    first_key_seconds: float = 6.0  # speech before the first moment a key works
    read_out_options: int = 5  # choices read out in one menu ("repeat", "menu" not counted)
    answers_to_an_end: int = 3  # answers from any question to a person, guidance or goodbye


@dataclass(frozen=True)
class Option:
    """A key of a question, where it leads, and the line that reads it out (None: not read)."""

    key: str
    to: str  # a node id or one of TARGETS
    say: str | None = None
    say_closed: str | None = None  # the line while agents are closed, when it differs
    speech: str | None = None  # the speech words' prompt key; default from `say`
    line: int = 0

    @property
    def read_out(self) -> bool:
        return self.say is not None

    @property
    def choice(self) -> bool:
        """A choice a caller keeps in mind; "repeat" and "main menu" are ways around."""
        return self.to not in (REPEAT, MAIN_MENU)

    @property
    def speech_key(self) -> str | None:
        """What a caller may say for the option: `speech`, or from "area.name" of `say` the
        words under "area.speech.name"."""
        if self.speech is not None:
            return self.speech
        if self.say is None or "." not in self.say:
            return None
        area, _, name = self.say.partition(".")
        return f"{area}.speech.{name}"


@dataclass(frozen=True)
class GuidanceLine:
    """A guidance prompt read step by step; one that names a key; or the region's channels."""

    prompt: str | None
    key: str | None = None
    channels: bool = False


@dataclass(frozen=True)
class Node:
    id: str
    kind: Kind
    say: tuple[str, ...] = ()  # a menu's opening lines
    options: tuple[Option, ...] = ()
    guidance: tuple[GuidanceLine, ...] = ()
    priority: bool = False  # a person asked for from here is taken first
    reference: bool = False  # a person asked for from here is told to key the reference
    topic: str | None = None  # said on a callback of a caller who asked from here
    line: int = 0

    def option_for(self, key: str) -> Option | None:
        return next((option for option in self.options if option.key == key), None)


@dataclass(frozen=True, eq=False)
class Flow:
    """One compiled flow (a region's, after its changes): immutable; compared by identity."""

    name: str
    main: str
    welcome: tuple[GuidanceLine, ...]
    nodes: Mapping[str, Node]
    after_guidance: tuple[Option, ...]
    speech_priority: tuple[str, ...]
    budgets: Budgets
    file: Path
    line: int
    # Keys work during the welcome (answers to the main menu); false: it is heard in full.
    barge_in: bool = True
    # The language menu offers a person (key 0, and the word in the line's first language).
    person_in_language_menu: bool = True
    # What each question says, by (node, language, fallback, variant): filled on first use by
    # the engine (ivr.engine.menu) and shared by every call of the flow.
    said: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)

    def node(self, node_id: str) -> Node | None:
        return self.nodes.get(node_id)

    def is_priority(self, reason: str | None) -> bool:
        node = self.nodes.get(reason or "")
        return node is not None and node.priority

    def asks_reference(self, reason: str | None) -> bool:
        node = self.nodes.get(reason or "")
        return node is not None and node.reference

    def options_of(self, node: Node) -> tuple[Option, ...]:
        return self.after_guidance if node.kind == "guidance" else node.options


@dataclass(frozen=True)
class FlowBook:
    """Every flow, and which one each region uses."""

    flows: Mapping[str, Flow]
    by_region: Mapping[str, Flow]
    default: Flow

    def for_region(self, region_id: str) -> Flow:
        return self.by_region.get(region_id, self.default)
