"""Whole calls through the emulator, then GET /metrics: what the operators' counters say."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from ivr.config.languages import LANGUAGES
from ivr.config.regions import RegionBook
from ivr.config.settings import Settings
from ivr.emulator import Switch
from ivr.store import OUTCOMES, Store
from ivr.web import metrics
from ivr.web.app import create_app
from ivr.web.metrics import NO_LANGUAGE, UNKNOWN, CallbackCounts
from tests.support.app_client import AppClient
from tests.support.calls import CALLERS, LINES, PUBLIC_URL, TOKEN, agent_twiml
from tests.support.moments import instant
from tests.support.scrape import BEARER, Scrape, ScrapeFn

WEBHOOK_SECONDS = "ivr_webhook_duration_seconds"
QUEUE_WAIT_BUCKETS = (15, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600)


def records_of(metered_app: FastAPI) -> Store:
    store: Store = metered_app.state.services.store
    return store


def tokyo_caller_asks_for_an_agent(metered_switch: Switch, caller: str = CALLERS["jp"]) -> object:
    call = metered_switch.dial(caller, LINES["jp"])
    call.press("2")  # English
    call.press("0")  # an agent
    assert call.queue == "jp-en-US"
    return call


@pytest.mark.slow
def test_an_answered_call_counts_its_choices_its_wait_and_its_outcome(
    metered_switch: Switch, metered_app: FastAPI, scrape: ScrapeFn
) -> None:
    before = scrape()
    call = metered_switch.dial(CALLERS["jp"], LINES["jp"])
    call.press("2")  # English
    call.press("3")  # a transaction problem
    call.press("0")  # an agent
    call.press("*")  # no reference
    assert call.queue == "jp-en-US"
    call.wait(100)
    metered_switch.dial_twiml(agent_twiml("jp-en-US"), from_="client:agent-1", talk=60)
    metered_switch.run(90)
    assert call.ended
    record = records_of(metered_app).call(call.sid)
    assert record is not None and record.outcome == "bridged" and record.queue_time
    waited = record.queue_time
    assert waited >= 100

    seen = scrape() - before
    # At the reference prompt any keys count as "#": keyed digits are never kept.
    for menu, key in [("lang", "2"), ("main", "3"), ("tx", "0"), ("ref", "#")]:
        assert seen.value("ivr_menu_choices_total", region="jp", menu=menu, choice=key) == 1
    assert sum(v for (n, _), v in seen.values.items() if n == "ivr_menu_choices_total") == 4

    where = {"region": "jp", "language": "en-US"}
    assert seen.value("ivr_queue_results_total", **where, result="bridged") == 1
    assert seen.value("ivr_queue_wait_seconds_count", **where) == 1
    assert seen.value("ivr_queue_wait_seconds_sum", **where) == waited
    for le in QUEUE_WAIT_BUCKETS:
        expected = 1 if waited <= le else 0
        assert seen.value("ivr_queue_wait_seconds_bucket", **where, le=f"{le:.1f}") == expected
    assert seen.value("ivr_queue_wait_seconds_bucket", **where, le="+Inf") == 1
    assert seen.value("ivr_calls_total", **where, outcome="bridged") == 1

    assert seen.value(f"{WEBHOOK_SECONDS}_count", route="/voice/incoming") == 1
    assert seen.value(f"{WEBHOOK_SECONDS}_count", route="/voice/menu") == 4
    assert seen.value(f"{WEBHOOK_SECONDS}_count", route="/voice/queue/result") == 1
    assert seen.value(f"{WEBHOOK_SECONDS}_sum", route="/voice/menu") > 0
    assert seen.value("ivr_webhook_responses_total", route="/voice/menu", code="200") == 4
    assert seen.value("ivr_webhook_responses_total", route="/voice/status", code="204") >= 1
    assert seen.value("ivr_webhook_apologies_total", route="/voice/menu") == 0


@pytest.mark.slow
def test_a_caller_who_hangs_up_in_the_queue_is_counted_as_abandoned(
    metered_switch: Switch, metered_app: FastAPI, scrape: ScrapeFn
) -> None:
    before = scrape()
    call = metered_switch.dial(CALLERS["gb"], LINES["gb"], at="2026-03-02T10:00+00:00")
    call.press("0")
    assert call.queue == "gb-en-GB"
    call.wait(40)
    call.hangup()
    seen = scrape() - before
    record = records_of(metered_app).call(call.sid)
    assert record is not None and record.queue_time is not None and record.queue_time >= 40
    where = {"region": "gb", "language": "en-GB"}
    assert seen.value("ivr_queue_results_total", **where, result="hangup") == 1
    assert seen.value("ivr_queue_wait_seconds_count", **where) == 1
    assert seen.value("ivr_queue_wait_seconds_sum", **where) == record.queue_time
    assert seen.value("ivr_calls_total", **where, outcome="abandoned") == 1
    assert seen.value("ivr_calls_total", **where, outcome="queued") == 0


@pytest.mark.slow
def test_a_caller_who_hangs_up_at_the_language_menu_has_no_language(
    metered_switch: Switch, scrape: ScrapeFn
) -> None:
    before = scrape()
    call = metered_switch.dial(CALLERS["jp"], LINES["jp"])
    call.hangup()
    seen = scrape() - before
    assert (
        seen.value("ivr_calls_total", region="jp", language=NO_LANGUAGE, outcome="self-served") == 1
    )


@pytest.mark.slow
def test_forged_signatures_are_counted_by_route(
    metered_client: AppClient, scrape: ScrapeFn
) -> None:
    form = {"CallSid": "CA" + "b" * 32, "From": CALLERS["jp"], "To": LINES["jp"]}
    signed = RequestValidator(TOKEN).compute_signature(f"{PUBLIC_URL}/voice/incoming", form)
    before = scrape()
    assert metered_client.post("/voice/incoming", data=form).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert metered_client.post("/voice/menu?n=main", data=form, headers=forged).status_code == 403
    good = {"X-Twilio-Signature": signed}
    assert metered_client.post("/voice/incoming", data=form, headers=good).status_code == 200
    seen = scrape() - before
    failures = "ivr_webhook_signature_failures_total"
    assert seen.value(failures, route="/voice/incoming") == 1
    assert seen.value(failures, route="/voice/menu") == 1
    assert seen.value("ivr_webhook_responses_total", route="/voice/incoming", code="403") == 1
    assert seen.value("ivr_webhook_responses_total", route="/voice/incoming", code="200") == 1


class BrokenClock:
    """Fails once, inside the webhook: the error boundary apologizes."""

    def __init__(self) -> None:
        self.failures = 1

    def now(self) -> datetime:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("clock exploded")
        return instant("2026-03-02T10:00+08:00")


@pytest.mark.slow
def test_an_apology_of_the_error_boundary_is_counted(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"calls_per_caller": 0}), clock=BrokenClock())
    client = AppClient(app)
    try:
        before = Scrape.parse(client.get("/metrics").text)
        call = {"CallSid": "CA" + "c" * 32, "From": CALLERS["cn"], "To": LINES["cn"]}
        answer = client.post("/voice/incoming", data=call)
        assert answer.status_code == 200 and "<Hangup" in answer.text
        seen = Scrape.parse(client.get("/metrics").text) - before
    finally:
        client.close()
        app.state.services.store.close()
    assert seen.value("ivr_webhook_apologies_total", route="/voice/incoming") == 1
    assert seen.value("ivr_webhook_responses_total", route="/voice/incoming", code="200") == 1


@pytest.mark.slow
def test_labels_come_from_the_configuration_never_from_the_request(
    metered_app: FastAPI, book: RegionBook
) -> None:
    # Local mode (no signature) so that anything reaches the handlers, as in the fuzz tests.
    services = metered_app.state.services
    services.settings = services.settings.model_copy(update={"twilio_auth_token": None})
    client = AppClient(metered_app)
    call = {"CallSid": "CA" + "d" * 32, "From": CALLERS["jp"], "To": LINES["jp"]}
    try:
        before = Scrape.parse(client.get("/metrics", headers=BEARER).text)
        queue_result = {**call, "QueueResult": "made-up-result", "QueueTime": "30"}
        for query in ("r=evil&l=xx-XX", "r=jp&l=fr-FR", "r=jp&l=ja-JP", ""):
            assert client.post(f"/voice/queue/result?{query}", data=queue_result).is_success
        menu = {**call, "Digits": "12345"}
        assert client.post("/voice/menu?n=main&r=nowhere&l=en-US", data=menu).is_success
        assert client.post("/voice/menu?n=bogus&r=jp&l=en-US", data=menu).is_success
        assert client.post("/voice/no-such-webhook", data=call).status_code == 404
        after = Scrape.parse(client.get("/metrics", headers=BEARER).text)
    finally:
        client.close()
    seen = after - before
    results = "ivr_queue_results_total"
    assert seen.value(results, region=UNKNOWN, language=UNKNOWN, result="other") == 1
    assert seen.value(results, region=UNKNOWN, language=NO_LANGUAGE, result="other") == 1
    assert seen.value(results, region="jp", language=UNKNOWN, result="other") == 1
    assert seen.value(results, region="jp", language="ja-JP", result="other") == 1
    # The caller's own region (Japan) answers a menu whose state named no known region.
    assert seen.value("ivr_menu_choices_total", region="jp", menu="main", choice="other") == 1

    regions = set(book.regions) | {UNKNOWN}
    languages = set(LANGUAGES) | {UNKNOWN, NO_LANGUAGE}
    routes = set(metered_app.openapi()["paths"]) | {"other"}
    for labels in after.labels_of("ivr_"):
        assert labels.get("region", UNKNOWN) in regions, labels
        assert labels.get("language", UNKNOWN) in languages, labels
        assert labels.get("route", "other") in routes, labels
        assert labels.get("outcome", "bridged") in OUTCOMES, labels


@pytest.fixture
def dispatching(
    metered_switch: Switch, metered_app: FastAPI, metered_settings: Settings, tokyo_clock: object
) -> object:
    from ivr.jobs.dispatcher import Dispatcher, twilio_client

    settings = metered_settings.model_copy(
        update={
            "twilio_account_sid": metered_switch.account_sid,
            "twilio_api_url": metered_switch.serve_rest(),
        }
    )
    services = metered_app.state.services
    return Dispatcher(
        services.store,
        services.config.regions,
        services.config.prompts,
        settings,
        tokyo_clock,  # type: ignore[arg-type]
        twilio_client(settings),
        events=CallbackCounts(),
    )


@pytest.mark.slow
def test_a_callback_is_counted_from_booking_to_the_text_after_the_last_attempt(
    metered_switch: Switch, metered_app: FastAPI, dispatching: object, scrape: ScrapeFn
) -> None:
    from ivr.jobs.dispatcher import Dispatcher

    assert isinstance(dispatching, Dispatcher)
    before = scrape()
    call = tokyo_caller_asks_for_an_agent(metered_switch)
    call.wait(125)  # leaving is offered after two minutes on the Japanese line
    call.answers.extend(["1", "1", "1"])  # leave the line; a callback; on this number
    call.wait(90)
    assert call.ended
    callback = records_of(metered_app).callbacks.for_call(call.sid)
    assert callback is not None and callback.status == "pending"
    after_booking = scrape() - before
    assert after_booking.value("ivr_callbacks_total", region="jp", event="booked") == 1
    assert (
        after_booking.value("ivr_calls_total", region="jp", language="en-US", outcome="callback")
        == 1
    )
    assert (
        after_booking.value(
            "ivr_queue_results_total", region="jp", language="en-US", result="leave"
        )
        == 1
    )

    metered_switch.callee(CALLERS["jp"], behaviour="no-answer")
    for attempt in (1, 2, 3):
        assert dispatching.run_once().placed == [callback.id]
        metered_switch.run()
        if attempt < 3:
            metered_switch.run(600)
    final = records_of(metered_app).callbacks.get(callback.id)
    assert final is not None and final.status == "expired"
    dispatching.run_once()
    assert [message.to for message in metered_switch.messages] == [CALLERS["jp"]]

    seen = scrape() - before
    counted = {
        event: seen.value("ivr_callbacks_total", region="jp", event=event)
        for event in ("booked", "placed", "refused", "not_reached", "expired", "texted")
    }
    assert counted == {
        "booked": 1,
        "placed": 3,
        "refused": 0,
        "not_reached": 3,
        "expired": 1,
        "texted": 1,
    }


def test_a_screened_call_is_no_menu_choice() -> None:
    """A refused call's path reads "rejected:<why>": it is counted as refused, not as a menu."""
    menus = metrics.MENU_CHOICES
    metrics.menu_choice("cn", "rejected:rate_limit")
    metrics.menu_choice("cn", "main:1")
    seen = {sample.labels["menu"] for family in menus.collect() for sample in family.samples}
    assert "main" in seen and "rejected" not in seen
