"""When callbacks are due and what the person called back hears on the last attempt (pure)."""

from __future__ import annotations

from datetime import timedelta

from ivr.config.regions import RegionBook
from ivr.engine.callback_call import PlacedCallback, greeting
from ivr.engine.steps import Hangup
from ivr.engine.ways import next_due, placeable
from tests.support.contexts import ContextFactory
from tests.support.moments import instant


def test_a_callback_is_due_only_while_agents_will_be_there(book: RegionBook) -> None:
    japan = book.regions["jp"]
    morning = instant("2026-03-02T10:00+09:00")
    assert placeable(japan, morning) and next_due(japan, morning) == morning
    near_closing = instant("2026-03-02T17:50+09:00")  # closes at 18:00
    assert not placeable(japan, near_closing)
    assert next_due(japan, near_closing) == instant("2026-03-03T09:00+09:00")
    before_new_year = instant("2026-12-28T17:47+09:00")  # then closed until 4 January
    assert next_due(japan, before_new_year) == instant("2027-01-04T09:00+09:00")
    assert next_due(japan, before_new_year + timedelta(days=1)) == instant("2027-01-04T09:00+09:00")


def test_the_last_attempt_promises_no_further_call(make_context: ContextFactory) -> None:
    ctx = make_context(from_="+819012345678", to="+81345678901", at="2026-03-02T10:00+09:00")
    callback = PlacedCallback(1, "123456", "jp", "en-US", "main", None, open=True)
    texts = [a.text for a in greeting(ctx, callback, said=2).actions if hasattr(a, "text")]
    assert texts == ["We'll try calling you again later. Goodbye."]
    last = PlacedCallback(1, "123456", "jp", "en-US", "main", None, open=True, last_attempt=True)
    step = greeting(ctx, last, said=2)
    texts = [a.text for a in step.actions if hasattr(a, "text")]
    assert not any("again" in text for text in texts)
    assert "Or email us at support-jp@example.com. We reply within 24 hours." in texts
    assert step.actions[-1] == Hangup()
