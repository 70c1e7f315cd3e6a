"""The agent line's PIN, checked at the edge: keyed digits take their share of the line's
failed-PIN budget and of the agent's tries before they are compared, and every refusal costs
the same whoever calls (see `check_pin`). The verdict itself is pure (ivr.engine.agent_line);
the webhooks are in ivr.web.routes.agents."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import cache

from ivr.engine import agent_line as agents
from ivr.engine.agent_line import MAX_PIN_TRIES
from ivr.engine.context import CallContext
from ivr.engine.numbers import masked
from ivr.store.agents import AgentRecord, AgentStore, Credentials, PinCheck, PinTry
from ivr.store.passwords import hash_secret, verify_secret
from ivr.web import metrics
from ivr.web.params import GatherParams
from ivr.web.services import Services

log = logging.getLogger("ivr")


@cache
def _nobodys_pin() -> str:
    """Checked when a number is no agent's, so refusing a stranger takes as long as refusing
    an agent: the time of the answer does not tell which numbers are agents'. Hashed on first
    use (a deliberately slow hash), not while the service starts."""
    return hash_secret("no agent has this PIN")


def check_pin(
    services: Services, ctx: CallContext, params: GatherParams, tries: int
) -> AgentRecord | None:
    """The agent logged in by this PIN on this call, or None. Keyed digits first take their
    share of the line's budget and of the agent's tries (`AgentStore.take_pin_try`), and are
    compared with the agent's PIN only when both were there to take: PINs keyed at the same
    moment cannot all slip past a check before any is counted. Every refusal costs the same,
    whoever calls and whatever the reason (no agent's number, a wrong PIN, a locked agent, the
    budget spent): one read, for keyed digits one write of one shape, and one scrypt check
    (against a dummy hash when nothing may be compared); only a login does other work. So
    neither the answer nor its time tells which numbers are agents', who is locked, or that
    the budget is spent."""
    store = AgentStore(services.store.engine)
    number = ctx.place.origin.number or ""
    window = agents.budget_window(ctx.now)
    check = store.pin_check(number, window)
    found, digits = check.agent, params.digits
    taken = _take_try(services, store, found, params, tries, ctx.now)
    compared = found if taken is not None and taken.tried else None
    matched = verify_secret(digits, compared.pin_hash if compared else _nobodys_pin())
    right = compared is not None and matched and agents.plausible_pin(digits)
    refusal = _verdict(services, check, taken, right, ctx.now)
    shown = masked(number) if number else ctx.place.origin.kind.value
    if refusal is None and found is not None:
        agent = store.log_in(found.name, params.call_sid, ctx.now, taken)
        if agent is not None:
            log.info("agent %s logged in from %s (CallSid %s)", agent.name, shown, params.call_sid)
            return agent
        refusal = agents.PinRefusal.LOCKED  # locked meanwhile, or the line has hung up
    assert refusal is not None
    metrics.agent_pin_refused(refusal.value)
    _log_refusal(refusal, found.name if found is not None else None, shown, tries + 1)
    if taken is not None and not right:  # a right PIN gave back what it took
        _log_counted(services, taken, window, shown)
    return None


def _take_try(
    services: Services,
    store: AgentStore,
    found: Credentials | None,
    params: GatherParams,
    tries: int,
    now: datetime,
) -> PinTry | None:
    """What keyed digits take before they are compared (see `AgentStore.take_pin_try`); None
    for silence, which is no guess and counts nowhere. The attempt is this entry of this call,
    so a retried webhook takes no second try of the agent."""
    if not params.digits:
        return None
    settings = services.settings
    return store.take_pin_try(
        found.name if found is not None else "",
        f"{params.call_sid}:{tries}",
        agents.budget_window(now),
        now,
        settings.agent_pin_budget,
        timedelta(minutes=settings.agent_lock_minutes),
    )


def _verdict(
    services: Services, check: PinCheck, taken: PinTry | None, right: bool, now: datetime
) -> agents.PinRefusal | None:
    """The verdict on the PIN; for silence, which takes nothing, what the read found gives the
    reason."""
    if taken is None:
        within_budget = check.failures < services.settings.agent_pin_budget
        tried = check.agent is not None and not _locked(check.agent.locked_until, now)
    else:
        within_budget, tried = taken.within_budget, taken.tried
    known = check.agent is not None
    return agents.pin_refusal(known=known, within_budget=within_budget, tried=tried, right=right)


def _log_refusal(refusal: agents.PinRefusal, name: str | None, shown: str, attempt: int) -> None:
    if refusal is agents.PinRefusal.OVER_BUDGET:
        log.warning("agent line: PIN refused from %s, the hour's budget is spent", shown)
    elif name is None:
        log.warning("agent line: PIN refused for %s, no agent's phone (try %d)", shown, attempt)
    elif refusal is agents.PinRefusal.LOCKED:
        log.warning("agent line: agent %s is locked; refused from %s", name, shown)
    else:
        log.warning(
            "agent line: wrong PIN for agent %s from %s (try %d of %d)",
            name,
            shown,
            attempt,
            MAX_PIN_TRIES,
        )


def _log_counted(services: Services, taken: PinTry, window: datetime, shown: str) -> None:
    """A refused PIN keeps what it took: say when it locked its agent, and when it spent the
    last of the line's budget."""
    if taken.lock is not None:
        log.warning(
            "agent %s locked for %s after %d wrong PINs in a row, the last from %s",
            taken.agent,
            timedelta(minutes=services.settings.agent_lock_minutes),
            MAX_PIN_TRIES,
            shown,
        )
    if taken.within_budget and taken.failures == services.settings.agent_pin_budget:
        log.error(
            "agent line: %d PINs refused since %s, the budget for the hour: no PIN is accepted "
            "until %s (someone may be guessing agents' PINs)",
            taken.failures,
            window.isoformat(timespec="minutes"),
            (window + agents.PIN_BUDGET_WINDOW).isoformat(timespec="minutes"),
        )


def _locked(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now
