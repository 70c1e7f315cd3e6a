"""The agent line's failed-PIN budget, pure: its windows, the verdict on a PIN, and the alert
that tells operators it is being spent."""

from __future__ import annotations

import re

import pytest

from ivr.engine.agent_line import (
    PIN_BUDGET,
    PIN_BUDGET_WINDOW,
    PinRefusal,
    budget_window,
    pin_refusal,
)
from ivr.web.metrics import PIN_REFUSALS
from tests.support.moments import instant
from tests.support.processes import INFRA


def test_a_window_is_an_hour_of_utc_whatever_the_replicas_time_zone() -> None:
    shanghai = instant("2026-03-02T10:37:12.5+08:00")
    new_york = instant("2026-03-01T21:37:12.5-05:00")  # the same instant
    assert budget_window(shanghai) == budget_window(new_york) == instant("2026-03-02T02:00+00:00")
    assert budget_window(instant("2026-03-02T02:59:59.999+00:00")) == budget_window(shanghai)
    assert budget_window(instant("2026-03-02T03:00+00:00")) == budget_window(shanghai) + (
        PIN_BUDGET_WINDOW
    )


@pytest.mark.parametrize(
    ("known", "within_budget", "tried", "right", "verdict"),
    [
        (True, True, True, True, None),
        (True, False, False, False, PinRefusal.OVER_BUDGET),  # not compared, not even the right
        (False, False, False, False, PinRefusal.OVER_BUDGET),
        (False, True, False, False, PinRefusal.NO_AGENT),
        (True, True, True, False, PinRefusal.WRONG),
        (True, True, False, False, PinRefusal.LOCKED),  # a locked agent's PIN is not compared
    ],
)
def test_the_verdict_on_a_pin(
    known: bool, within_budget: bool, tried: bool, right: bool, verdict: PinRefusal | None
) -> None:
    found = pin_refusal(known=known, within_budget=within_budget, tried=tried, right=right)
    assert found is verdict


def test_the_metric_knows_every_reason_for_a_refusal() -> None:
    assert set(PIN_REFUSALS) == {refusal.value for refusal in PinRefusal}


def test_the_alert_fires_at_the_budget_the_line_keeps() -> None:
    rules = (INFRA / "prometheus" / "alerts.yml").read_text()
    rule = rules.split("- alert: IvrAgentPinGuessing\n")[1].split("- alert:")[0]
    expression = re.search(r"expr: (.*)", rule)
    assert expression is not None
    assert expression.group(1) == f"sum(increase(ivr_agent_pin_failures_total[1h])) >= {PIN_BUDGET}"
    assert PIN_BUDGET_WINDOW.total_seconds() == 3600  # the [1h] above
