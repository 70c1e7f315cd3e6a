"""A call's place in the menu, carried in the webhook URLs (Twilio signs them with the body).

Nothing about a call lives in process memory: any replica can answer any step from the URL.
That includes a failed caller-ID verdict: Twilio sends StirVerstat on the incoming call's
request only, so our links carry it on (`v=failed`) to every later step of the call.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from ivr.config.flows import NODE_ID
from ivr.engine.steps import Link

MAX_TRIES = 3


class Node(enum.StrEnum):
    """The questions the engine asks of itself, whatever the flow; the value travels in the URL.
    Every other question is a node of the call's flow (ivr.config.flows), named by its id."""

    LANGUAGE = "lang"
    REFERENCE = "ref"
    CONFIRM = "confirm"
    WAYS = "ways"  # other ways to get help: a callback, a voice message, the channels
    CALLBACK = "cb"  # call back the number the caller is calling from?
    CALLBACK_NUMBER = "cb_num"  # key in the number to call back
    CALLBACK_CONFIRM = "cb_ok"  # the number keyed in, read back


CALLBACK_NODES = frozenset({Node.CALLBACK, Node.CALLBACK_NUMBER, Node.CALLBACK_CONFIRM})
_BUILT_IN = frozenset(Node)
# Why a caller asks for a person: the id of the flow node they asked from, or "menu".
MENU_REASON = "menu"
_DIGITS = re.compile(r"[0-9]{1,32}")
_TRIES = re.compile(r"[0-9]")
_ID = re.compile(r"[A-Za-z0-9-]{1,40}")
# The caller ID failed STIR/SHAKEN verification (see ivr.engine.context.failed_verification).
VERDICT, FAILED = "v", "failed"


@dataclass(frozen=True)
class MenuState:
    node: str  # a node of the call's flow, or a Node
    region: str
    language: str
    tries: int = 0
    reason: str | None = None  # why the caller wants an agent
    digits: str | None = None  # a transaction reference waiting for confirmation
    caller_id_failed: bool = False  # the incoming call's StirVerstat said so

    def at(self, node: str, **changes: object) -> MenuState:
        """The state for asking at `node`; tries start again unless given."""
        values: dict[str, object] = {"tries": 0, **changes}
        return replace(self, node=node, **values)  # type: ignore[arg-type]

    def retry(self) -> MenuState:
        return replace(self, tries=self.tries + 1)

    @property
    def out_of_tries(self) -> bool:
        return self.tries + 1 >= MAX_TRIES

    def link(self, path: str) -> Link:
        params = [("n", str(self.node)), ("r", self.region), ("l", self.language)]
        if self.tries:
            params.append(("t", str(self.tries)))
        if self.reason:
            params.append(("w", self.reason))
        if self.digits:
            params.append(("d", self.digits))
        if self.caller_id_failed:
            params.append((VERDICT, FAILED))
        return Link(path, tuple(params))

    @property
    def place(self) -> CallPlace:
        """Region, language, reason and verdict: what the queue and booking webhooks carry."""
        return CallPlace(self.region, self.language, self.reason, self.caller_id_failed)


@dataclass(frozen=True)
class CallPlace:
    """Region, language, why and the verdict, without a question: the state of the queue,
    booking and recording webhooks."""

    region: str
    language: str
    reason: str | None = None
    caller_id_failed: bool = False

    def link(self, path: str, *extra: tuple[str, str]) -> Link:
        params = [("r", self.region), ("l", self.language)]
        if self.reason:
            params.append(("w", self.reason))
        if self.caller_id_failed:
            params.append((VERDICT, FAILED))
        return Link(path, (*params, *extra))

    def menu(self, node: str) -> MenuState:
        """The menu question `node` for this caller."""
        return MenuState(
            node,
            self.region,
            self.language,
            reason=self.reason,
            caller_id_failed=self.caller_id_failed,
        )


def parse_state(query: Mapping[str, str]) -> MenuState | None:
    """The menu state in a webhook's query, or None when it is missing, stale or malformed."""
    node: str = query.get("n", "")
    if not NODE_ID.fullmatch(node):
        return None
    if node in _BUILT_IN:
        node = Node(node)
    place = parse_place(query)
    tries = query.get("t", "0")
    digits = query.get("d")
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    if place is None or not _TRIES.fullmatch(tries) or int(tries) >= MAX_TRIES:
        return None
    if digits is not None and not _DIGITS.fullmatch(digits):
        return None
    return MenuState(
        node,
        place.region,
        place.language,
        int(tries),
        place.reason,
        digits,
        place.caller_id_failed,
    )


def parse_place(query: Mapping[str, str]) -> CallPlace | None:
    region, language, reason = query.get("r", ""), query.get("l", ""), query.get("w")
    verdict = query.get(VERDICT)
    if not _ID.fullmatch(region) or not _ID.fullmatch(language):
        return None
    if reason is not None and not NODE_ID.fullmatch(reason):
        return None
    if verdict not in (None, FAILED):
        return None
    return CallPlace(region, language, reason, verdict == FAILED)
