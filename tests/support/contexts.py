"""The type of the `make_context` fixture: a call context for who calls which line, when."""

from __future__ import annotations

from collections.abc import Callable

from ivr.engine.context import CallContext

ContextFactory = Callable[..., CallContext]
