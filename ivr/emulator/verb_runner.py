"""What a verb that waits (Gather, Record, Enqueue, Dial) needs of the call running it.

`runner.CallRunner` is the one implementation; the verbs' modules see only this protocol, so
they do not import the runner that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from ivr.emulator.call import Call
from ivr.emulator.documents import Context
from ivr.emulator.errors import Finding
from ivr.emulator.events import Event
from ivr.emulator.exchange import Exchange
from ivr.emulator.flow import Goto
from ivr.emulator.verbs import Pause, Play, Say

E = TypeVar("E", bound=Event)


class VerbRunner(Protocol):
    x: Exchange
    call: Call

    def emit(self, factory: Callable[..., E], *args: Any, **fields: Any) -> E: ...

    def report(self, *findings: Finding) -> None: ...

    async def wait(self, seconds: float | None, settled: bool = False) -> object: ...

    async def elapse(self, seconds: float) -> None: ...

    def checkpoint(self) -> None: ...

    def caller_hangs_up(self, by: str = "caller") -> None: ...

    async def follow(self, nav: Goto | None, context: Context) -> None: ...

    async def notify(self, nav: Goto) -> None: ...

    def prompt_seconds(self, verb: Say | Play | Pause) -> float: ...

    async def play_prompt(self, verb: Say | Play | Pause, loop: int | None = None) -> None: ...
