"""Named call queues shared by every call on the switch: plain objects a REST layer can read.

A queue is created by the first <Enqueue> naming it (or by a test); members keep their order and
enqueue time; agents that dial an empty queue wait in line for the next caller.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.emulator.call import Call

DEFAULT_MAX_SIZE = 1000
LARGEST_MAX_SIZE = 5000


class QueueResult(StrEnum):
    """Why a caller left a queue: the `QueueResult` of the <Enqueue> action request."""

    BRIDGED = "bridged"
    # Dequeued by an agent, but the caller hung up before the bridge was made.
    BRIDGING_IN_PROCESS = "bridging-in-process"
    ERROR = "error"
    HANGUP = "hangup"
    LEAVE = "leave"
    QUEUE_FULL = "queue-full"
    # The next three come from REST operations, which the switch's REST layer will perform.
    REDIRECTED = "redirected"
    REDIRECTED_FROM_BRIDGED = "redirected-from-bridged"
    SYSTEM_ERROR = "system-error"


@dataclass(eq=False)
class QueueMember:
    call: Call
    enqueued_at: datetime

    @property
    def call_sid(self) -> str:
        return self.call.sid

    def waited(self, now: datetime) -> int:
        """Whole seconds in the queue so far."""
        return int((now - self.enqueued_at).total_seconds())


@dataclass(eq=False)
class Queue:
    name: str
    sid: str
    created_at: datetime
    max_size: int = DEFAULT_MAX_SIZE
    members: list[QueueMember] = field(default_factory=list)
    waiting_agents: list[Call] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def full(self) -> bool:
        return self.size >= self.max_size

    def position(self, call: Call) -> int | None:
        """1-based place of `call` in the line, None when it is not a member."""
        for index, member in enumerate(self.members, start=1):
            if member.call is call:
                return index
        return None

    def member(self, call: Call) -> QueueMember | None:
        """The member entry of `call`, None when it is not in this queue."""
        return next((member for member in self.members if member.call is call), None)

    def average_wait(self, now: datetime) -> int:
        """Average seconds the current members have waited (Twilio's AvgQueueTime)."""
        if not self.members:
            return 0
        return sum(member.waited(now) for member in self.members) // self.size


class Queues(dict[str, Queue]):
    """All queues of the switch by name, created on first use."""

    def __init__(self, new_sid: Callable[[str], str], now: Callable[[], datetime]) -> None:
        super().__init__()
        self._new_sid = new_sid
        self._now = now

    def get_or_create(self, name: str) -> Queue:
        """The queue `name`, created (like the first <Enqueue> does) if needed."""
        if name not in self:
            self[name] = Queue(name=name, sid=self._new_sid("QU"), created_at=self._now())
        return self[name]

    def set_max_size(self, name: str, max_size: int) -> Queue:
        """Create the queue if needed and set its size limit (Twilio allows 1 to 5000)."""
        if not 1 <= max_size <= LARGEST_MAX_SIZE:
            raise ValueError(f"max size must be between 1 and {LARGEST_MAX_SIZE}, not {max_size}")
        queue = self.get_or_create(name)
        queue.max_size = max_size
        return queue
