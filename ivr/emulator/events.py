"""What happened on a call, as frozen events with a stable JSON shape.

Every event serialises (`to_json()`) to a flat object with these common keys:

    {"t": 12.3,                       # seconds since the call started, 1 decimal
     "at": "2026-03-01T03:00:12.300Z", # the instant, ISO 8601 UTC
     "call": "CA...",                 # CallSid of the call the event belongs to
     "type": "say", ...}              # the event type, then its own keys:

    say        text, voice, language, loop        (loop 0 = "until hang-up", recorded once)
    play       url, loop, digits
    pause      seconds
    gather     input (list), num_digits, finish_on_key, timeout, speech_timeout, language,
               hints, action
    input      kind ("digits" | "speech" | "silence"), keys (as pressed), digits (as
               submitted, finish key removed), speech
    recording  max_length, timeout, finish_on_key, play_beep     (a <Record> starts)
    record     duration, digits, url                            (the recording ended)
    request    purpose, method, url, status, content_type, document
               (purpose: voice | action | redirect | wait | queue-url | status-callback)
    redirect   url, method
    enqueue    queue, position
    queue      queue, position, size, waited                    (one per waitUrl poll)
    leave      queue, result                                    (result = QueueResult)
    dequeued   queue, by, waited                                (by = the agent's CallSid)
    bridge     peer                                             (CallSid of the other leg)
    dial       nouns (list of "number:+1...", "client:x", "queue:name"), timeout
    dial-end   status, peer, duration, bridged                  (status = DialCallStatus)
    reject     reason
    hangup     by ("caller" | "app" | "switch")
    warning    code, problem, title, message, url, element     (Twilio warning: call goes on)
    error      code, problem, title, message, url, element     (the call failed)
               (problem: the situation's id in `ivr.emulator.errors.Problem`)
    status     status, duration                                 (final CallStatus, CallDuration)

`code` and `url` are null for the emulator's own limits. Keys are only ever added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import ClassVar

from ivr.emulator.errors import Finding

JsonValue = str | int | float | bool | None | list[str]


@dataclass(frozen=True)
class Event:
    """Something that happened on one call, at a virtual instant."""

    t: float
    at: datetime
    call: str
    type: ClassVar[str] = "event"

    def to_json(self) -> dict[str, JsonValue]:
        """The event as a JSON-ready dict (see the module docstring for the shape)."""
        data: dict[str, JsonValue] = {
            "t": round(self.t, 1),
            "at": self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "call": self.call,
            "type": self.type,
        }
        for field in fields(self)[3:]:
            value = getattr(self, field.name)
            data[field.name] = list(value) if isinstance(value, tuple) else value
        return data


@dataclass(frozen=True)
class SayEvent(Event):
    text: str
    voice: str
    language: str
    loop: int
    type: ClassVar[str] = "say"


@dataclass(frozen=True)
class PlayEvent(Event):
    url: str | None
    loop: int
    digits: str | None
    type: ClassVar[str] = "play"


@dataclass(frozen=True)
class PauseEvent(Event):
    seconds: int
    type: ClassVar[str] = "pause"


@dataclass(frozen=True)
class GatherEvent(Event):
    input: tuple[str, ...]
    num_digits: int | None
    finish_on_key: str
    timeout: int
    speech_timeout: str
    language: str
    hints: str | None
    action: str
    type: ClassVar[str] = "gather"


@dataclass(frozen=True)
class InputEvent(Event):
    kind: str
    keys: str | None
    digits: str | None
    speech: str | None
    type: ClassVar[str] = "input"


@dataclass(frozen=True)
class RecordingEvent(Event):
    max_length: int
    timeout: int
    finish_on_key: str
    play_beep: bool
    type: ClassVar[str] = "recording"


@dataclass(frozen=True)
class RecordEvent(Event):
    duration: int
    digits: str | None
    url: str
    type: ClassVar[str] = "record"


@dataclass(frozen=True)
class RequestEvent(Event):
    purpose: str
    method: str
    url: str
    status: int | None
    content_type: str | None
    document: str | None
    type: ClassVar[str] = "request"


@dataclass(frozen=True)
class RedirectEvent(Event):
    url: str
    method: str
    type: ClassVar[str] = "redirect"


@dataclass(frozen=True)
class EnqueueEvent(Event):
    queue: str
    position: int
    type: ClassVar[str] = "enqueue"


@dataclass(frozen=True)
class QueueEvent(Event):
    queue: str
    position: int
    size: int
    waited: int
    type: ClassVar[str] = "queue"


@dataclass(frozen=True)
class LeaveEvent(Event):
    queue: str
    result: str
    type: ClassVar[str] = "leave"


@dataclass(frozen=True)
class DequeuedEvent(Event):
    queue: str
    by: str
    waited: int
    type: ClassVar[str] = "dequeued"


@dataclass(frozen=True)
class BridgeEvent(Event):
    peer: str
    type: ClassVar[str] = "bridge"


@dataclass(frozen=True)
class DialEvent(Event):
    nouns: tuple[str, ...]
    timeout: int
    type: ClassVar[str] = "dial"


@dataclass(frozen=True)
class DialEndEvent(Event):
    status: str
    peer: str | None
    duration: int
    bridged: bool
    type: ClassVar[str] = "dial-end"


@dataclass(frozen=True)
class RejectEvent(Event):
    reason: str
    type: ClassVar[str] = "reject"


@dataclass(frozen=True)
class HangupEvent(Event):
    by: str
    type: ClassVar[str] = "hangup"


@dataclass(frozen=True)
class ProblemEvent(Event):
    code: int | None
    problem: str
    title: str
    message: str
    url: str | None
    element: str | None

    @classmethod
    def from_finding(cls, t: float, at: datetime, call: str, finding: Finding) -> ProblemEvent:
        row = finding.row
        return cls(
            t, at, call, row.code, finding.problem, row.title, finding.message, row.url,
            finding.element,
        )  # fmt: skip


@dataclass(frozen=True)
class WarningEvent(ProblemEvent):
    type: ClassVar[str] = "warning"


@dataclass(frozen=True)
class ErrorEvent(ProblemEvent):
    type: ClassVar[str] = "error"


@dataclass(frozen=True)
class StatusEvent(Event):
    status: str
    duration: int
    type: ClassVar[str] = "status"


Prompt = GatherEvent | RecordingEvent
"""What a caller is asked to answer: the `ask` callable receives one of these."""
