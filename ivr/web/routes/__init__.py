"""The webhooks and operations routes, one module per area."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivr.web.webhooks import Webhook


def webhooks() -> list[Webhook]:
    """Every webhook the service answers, from the areas' tables (imported here, not with the
    package, so that importing one area does not load them all)."""
    from ivr.web.routes import agents, callbacks, calls, ops, queue, survey

    areas = (calls, queue, survey, callbacks, agents, ops)
    return [hook for area in areas for hook in area.hooks.routes]
