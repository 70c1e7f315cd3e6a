"""How control moves through a call: the next document to fetch, and the ways a call is cut
short (hang-ups, rejection, leaving or being taken from a queue)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.emulator.call import Call
    from ivr.emulator.queues import Queue
    from ivr.emulator.verbs import DialNoun


@dataclass(frozen=True)
class Goto:
    """Fetch this document next (`url` None: the verb had no URL, which is an 11100)."""

    url: str | None
    method: str
    purpose: str
    params: dict[str, str] = field(default_factory=dict)
    element: str | None = None


class CallerHungUp(Exception):
    """The caller hung up (the driver did, or their talk time ran out)."""


class ApiHungUp(CallerHungUp):
    """The call was ended through the REST API (Status=completed or canceled): every verb handles
    it like the caller hanging up, but the transcript shows the switch ending the call."""


class ApiRedirect(Exception):
    """A REST update gave the call new instructions (Url or Twiml): the verb and document it is
    in are abandoned and the call goes on with `target`."""

    def __init__(self, target: Goto | str) -> None:
        super().__init__(target if isinstance(target, str) else target.url)
        self.target = target


class AppHungUp(Exception):
    """The app ended the call with <Hangup/>."""


class Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LeaveQueue(Exception):
    """<Leave/> in a waitUrl document."""


class Keyed(Enum):
    """What the driver keys into a bridged call."""

    STAR = "star"  # * in a bridge of a <Dial hangupOnStar="true">


class Peer(Enum):
    """Messages between the two calls of a queue bridge."""

    MEMBER_ARRIVED = "member-arrived"  # to an agent waiting on an empty queue
    BRIDGED = "bridged"  # caller -> agent: the <Queue url> document is done, talk now
    GONE = "gone"  # caller -> agent: hung up or failed before the bridge
    HUNG_UP = "hung-up"  # either side -> the other: I hung up, the bridge is over
    ENDED = "ended"  # agent -> caller: the bridge is over (agent left or timeLimit)


@dataclass(eq=False)
class Connection:
    """An agent taking a caller from a queue."""

    agent: Call
    caller: Call
    queue: Queue
    noun: DialNoun
    enqueued_at: datetime
    dequeued_at: datetime
    agent_gone: bool = False

    @property
    def queue_time(self) -> int:
        return int((self.dequeued_at - self.enqueued_at).total_seconds())


class Dequeued(Exception):
    """Raised in a queued caller when an agent takes them."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection.agent.sid)
        self.connection = connection


@dataclass(eq=False)
class DialProgress:
    """How a <Dial> is going, kept up to date so a hang-up at any moment can still report it."""

    status: str = "no-answer"
    peer: str | None = None
    bridged_at: datetime | None = None
    ended_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def bridged(self) -> bool:
        return self.bridged_at is not None

    @property
    def duration(self) -> int:
        if self.bridged_at is None or self.ended_at is None:
            return 0
        return round((self.ended_at - self.bridged_at).total_seconds())
