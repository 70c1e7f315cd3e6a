"""One call on the switch: its state, what the caller heard, and the driver's controls."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.emulator.console import render_transcript
from ivr.emulator.events import ErrorEvent, Event, Prompt, SayEvent, WarningEvent

FINAL_STATUSES = frozenset({"completed", "failed", "busy", "no-answer", "canceled"})


class CallNotWaiting(RuntimeError):
    """The driver answered a call that is not waiting at a <Gather> or <Record>."""


class Driver(Protocol):
    def answer(self, call: Call, answer: str) -> None: ...
    def hang_up(self, call: Call) -> None: ...
    def press_star(self, call: Call) -> None: ...
    def run(self, seconds: float | None = None) -> None: ...


@dataclass(eq=False)
class Call:
    """A call leg as the switch sees it. Read its state freely; drive it with the methods."""

    sid: str
    from_: str
    to: str
    started_at: datetime
    direction: str = "inbound"
    status: str = "ringing"
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    queue: str | None = None
    talk: float | None = None
    answers: deque[str] = field(default_factory=deque)
    events: list[Event] = field(default_factory=list)
    heard: list[str] = field(default_factory=list)
    prompt: Prompt | None = None
    silence_when_out_of_answers: bool = False
    # Bridged by a <Dial hangupOnStar="true"> right now: * ends this side of the talk.
    star_ends_talk: bool = False
    _turn_start: int = 0
    _driver: Driver | None = field(default=None, repr=False)
    _listener: Callable[[Event], None] | None = field(default=None, repr=False)

    # --- reading ---------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def warnings(self) -> list[WarningEvent]:
        return [event for event in self.events if isinstance(event, WarningEvent)]

    @property
    def error(self) -> ErrorEvent | None:
        return next((event for event in self.events if isinstance(event, ErrorEvent)), None)

    @property
    def turn(self) -> list[str]:
        """Everything said to the caller since their last answer."""
        return self.heard[self._turn_start :]

    def hears(self, text: str) -> bool:
        """True if `text` occurs in what was said since the caller's last answer."""
        return any(text in said for said in self.turn) or text in " ".join(self.turn)

    @property
    def transcript(self) -> str:
        return render_transcript(self.events)

    def __repr__(self) -> str:
        turn = " / ".join(self.turn)
        turn = turn if len(turn) <= 160 else turn[:157] + "..."
        return f"<Call {self.sid} {self.from_}->{self.to} {self.status} turn={turn!r}>"

    # --- driving ---------------------------------------------------------------------------
    def press(self, keys: str) -> None:
        """Answer the pending Gather/Record with keys, then run until the next stop."""
        self._drive().answer(self, keys)

    def silence(self) -> None:
        """Stay silent: the pending Gather/Record times out."""
        self._drive().answer(self, "_")

    def say(self, text: str) -> None:
        """Answer with speech (silence if the Gather takes no speech)."""
        self._drive().answer(self, f"say:{text}")

    def hangup(self) -> None:
        """The caller hangs up now."""
        self._drive().hang_up(self)

    def press_star(self) -> None:
        """Press * while bridged by a <Dial hangupOnStar="true">: the other party is let go and
        this call goes on with the Dial's action (an agent ending a conversation, staying on
        their line)."""
        self._drive().press_star(self)

    def wait(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass for the whole switch."""
        self._drive().run(seconds)

    def _drive(self) -> Driver:
        if self._driver is None:
            raise RuntimeError("this call is not attached to a switch")
        return self._driver

    # --- recording (used by the switch) ----------------------------------------------------
    def record(self, event: Event) -> None:
        """Add an event (what was said goes to `heard`) and pass it to the listener."""
        self.events.append(event)
        if isinstance(event, SayEvent):
            self.heard.append(event.text)
        if self._listener is not None:
            self._listener(event)

    def start_turn(self) -> None:
        """The caller just answered: what follows is the next turn."""
        self._turn_start = len(self.heard)

    def queue_answers(self, answers: Iterable[str]) -> None:
        """Append answer strings for the next Gathers and Records."""
        self.answers.extend(answers)
