"""The agent line's webhooks at the HTTP edge: signed like every webhook, 4xx for bad input,
and nothing but the PIN question for a call no agent logged in on."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from ivr.clock import FixedClock
from ivr.config.settings import Settings
from ivr.emulator import VirtualClock
from ivr.engine.agent_line import PIN_BUDGET, PIN_BUDGET_WINDOW, AgentState, budget_window
from ivr.engine.line_state import Skills
from ivr.store import Store
from ivr.store.agents import AgentStore
from ivr.store.migrate import upgrade
from ivr.store.passwords import hash_secret
from ivr.web.app import create_app
from ivr.web.metrics import PIN_REFUSALS
from tests.support.agents import LI_PHONE, T0, sid
from tests.support.app_client import AppClient
from tests.support.databases import POSTGRES_URL
from tests.support.tcp_gate import TcpGate

LINE_CALL = "CA" + "a" * 32
AGENT_LINE = "+12025550199"
PIN = "135792"


@pytest.fixture
def app_store(settings: Settings) -> Iterator[tuple[AppClient, Store]]:
    app = create_app(settings, clock=FixedClock(T0))
    client = AppClient(app)
    store: Store = app.state.services.store
    AgentStore(store.engine).add(
        "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
    )
    joined = T0 - timedelta(minutes=2)
    store.remember_queue_entry(
        sid(1), "+8613812345678", "cn-zh-CN", "cn", "zh-CN", "main", None, joined
    )
    store.record_in_queue(sid(1), joined, joined)
    yield client, store
    client.close()


def post(
    client: AppClient, path: str, call_sid: str = LINE_CALL, **form: str
) -> ElementTree.Element:
    data = {"CallSid": call_sid, "From": LI_PHONE, "To": AGENT_LINE, "CallStatus": "in-progress"}
    response = client.post(path, data={**data, **form})
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.text)


@pytest.mark.slow
def test_the_right_pin_from_the_agents_phone_whispers_and_dials_the_waiting_caller(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    document = post(client, "/voice/agent/pin", Digits=PIN)
    assert [say.text for say in document.iter("Say")][:2] == [
        "您已登录。",
        "下一位来电：Mainland China，使用普通话。",
    ]
    dial = document.find("Dial")
    assert dial is not None and dial.findtext("Queue") == "cn-zh-CN"
    assert PIN not in ElementTree.tostring(document, encoding="unicode")


@pytest.mark.slow
def test_follow_up_webhooks_of_a_call_nobody_logged_in_on_reach_no_queue(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    stranger = "CA" + "b" * 32
    for path, form in (
        ("/voice/agent/key?m=after", {"Digits": "1"}),
        ("/voice/agent/key?m=idle", {}),
        ("/voice/agent/dialed?q=cn-zh-CN&c=" + sid(1), {"DialCallStatus": "no-answer"}),
    ):
        document = post(client, path, stranger, **form)
        assert [say.text for say in document.iter("Say")] == ["本次通话尚未登录，再见。"]
        assert document.find("Hangup") is not None
        assert document.find("Dial") is None and document.find("Enqueue") is None


@pytest.mark.slow
def test_a_wrong_pin_from_the_agents_phone_and_a_strangers_get_the_same_answer(
    app_store: tuple[AppClient, Store],
) -> None:
    client, _ = app_store
    agent = post(client, "/voice/agent/pin", Digits="000000")
    stranger = post(client, "/voice/agent/pin", "CA" + "c" * 32, Digits=PIN, From="+8613800138000")
    render = ElementTree.tostring
    assert render(agent) == render(stranger)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/voice/agent/dialed", {"DialCallSid": "not-a-sid"}),
        ("/voice/agent/dialed", {"DialCallDuration": "-4"}),
        ("/voice/agent/pin", {"Digits": "12ab"}),
        ("/voice/agent/status", {"CallStatus": "exploded"}),
    ],
)
def test_malformed_agent_line_webhooks_get_a_400(
    app_store: tuple[AppClient, Store], path: str, form: dict[str, str]
) -> None:
    client, _ = app_store
    data = {"CallSid": LINE_CALL, "From": LI_PHONE, "To": AGENT_LINE, **form}
    assert client.post(path, data=data).status_code == 400


@pytest.mark.slow
@pytest.mark.parametrize("query", ["t=99", "t=-1", "m=nonsense&t=x", "i=9999999", "n=%F0%9F%98%80"])
def test_odd_query_values_are_read_as_nothing_never_a_server_error(
    app_store: tuple[AppClient, Store], query: str
) -> None:
    client, _ = app_store
    for path in ("/voice/agent/pin", "/voice/agent/key", "/voice/agent/dialed"):
        response = client.post(f"{path}?{query}", data={"CallSid": LINE_CALL, "From": LI_PHONE})
        assert response.status_code == 200


@pytest.mark.slow
def test_the_status_callback_logs_the_agent_out(app_store: tuple[AppClient, Store]) -> None:
    client, store = app_store
    post(client, "/voice/agent/pin", Digits=PIN)
    data = {"CallSid": LINE_CALL, "From": LI_PHONE, "CallStatus": "completed", "CallDuration": "9"}
    assert client.post("/voice/agent/status", data=data).status_code == 204
    agent = AgentStore(store.engine).get("li")
    assert agent is not None and agent.state.value == "offline"


def test_agent_line_webhooks_are_signed_like_every_other(settings: Settings) -> None:
    token, public = "agent-line-token", "https://ivr.example.com"
    signed = settings.model_copy(
        update={"twilio_auth_token": SecretStr(token), "public_url": public}
    )
    client = AppClient(create_app(signed, clock=FixedClock(T0)))
    try:
        data = {"CallSid": LINE_CALL, "From": LI_PHONE, "To": AGENT_LINE}
        for path in ("/voice/agent", "/voice/agent/pin", "/voice/agent/key", "/voice/agent/status"):
            assert client.post(path, data=data).status_code == 403
        signature = RequestValidator(token).compute_signature(f"{public}/voice/agent", data)
        answered = client.post("/voice/agent", data=data, headers={"X-Twilio-Signature": signature})
        assert answered.status_code == 200
    finally:
        client.close()


def test_with_the_database_away_the_agent_line_says_so_and_hangs_up(
    settings: Settings, tmp_path: Path
) -> None:
    away = Store.connect("postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    client = AppClient(create_app(settings, clock=FixedClock(T0), store=away))
    try:
        document = post(client, "/voice/agent/pin", Digits=PIN)
        assert [say.text for say in document.iter("Say")] == [
            "坐席专线暂时无法读取记录，请一分钟后再试。再见。"
        ]
        assert document.find("Hangup") is not None
    finally:
        client.close()


def refused_total(refused: str) -> float:
    return REGISTRY.get_sample_value("ivr_agent_pin_failures_total", {"refused": refused}) or 0


@pytest.mark.slow
def test_once_the_hours_budget_is_spent_the_right_pin_hears_a_wrong_pins_answer_until_it_passes(
    settings: Settings,
) -> None:
    clock = VirtualClock(T0)
    app = create_app(settings, clock=clock)
    client = AppClient(app)
    try:
        store: Store = app.state.services.store
        AgentStore(store.engine).add(
            "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
        )
        wrong = post(client, "/voice/agent/pin", "CA" + "0" * 32, Digits="000000")
        before = {reason: refused_total(reason) for reason in PIN_REFUSALS}
        # Strangers' numbers (the caller ID is theirs to choose), one wrong PIN each.
        for n in range(1, PIN_BUDGET):
            stranger = f"+86138001{n:05d}"
            post(client, "/voice/agent/pin", f"CA{n:032x}", Digits=f"{n:06d}", From=stranger)
        refused = post(client, "/voice/agent/pin", "CA" + "d" * 32, Digits=PIN)
        render = ElementTree.tostring
        assert render(refused) == render(wrong)
        assert AgentStore(store.engine).on_line("CA" + "d" * 32) is None
        assert refused_total("unknown_number") - before["unknown_number"] == PIN_BUDGET - 1
        assert refused_total("over_budget") - before["over_budget"] == 1
        # The next hour of UTC: a new budget, and the right PIN logs li in.
        clock.set(budget_window(T0) + PIN_BUDGET_WINDOW)
        document = post(client, "/voice/agent/pin", "CA" + "e" * 32, Digits=PIN)
        assert [say.text for say in document.iter("Say")][0] == "您已登录。"
    finally:
        client.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_with_the_database_silent_the_agent_line_answers_within_the_webhooks_time(
    settings: Settings,
) -> None:
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        with TcpGate(("127.0.0.1", 5432)) as gate:
            gate.open()
            url = f"postgresql+psycopg://postgres@127.0.0.1:{gate.port}/test"
            store = Store.connect(f"{url}?options=-csearch_path%3D{schema}")
            upgrade(store.engine)
            AgentStore(store.engine).add(
                "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
            )
            waits_one_second = settings.model_copy(update={"database_wait_seconds": 1.0})
            client = AppClient(create_app(waits_one_second, clock=FixedClock(T0), store=store))
            try:
                gate.hold()  # connections stay open; nothing comes back
                started = time.monotonic()
                document = post(client, "/voice/agent/pin", Digits=PIN)
                assert time.monotonic() - started < 2.0
                assert [say.text for say in document.iter("Say")] == [
                    "坐席专线暂时无法读取记录，请一分钟后再试。再见。"
                ]
            finally:
                gate.release()
                client.close()
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.slow
def test_an_operator_sets_the_lines_pin_budget(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"agent_pin_budget": 3}), clock=FixedClock(T0))
    client = AppClient(app)
    try:
        store: Store = app.state.services.store
        AgentStore(store.engine).add(
            "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0
        )
        for n in range(1, 4):
            post(
                client, "/voice/agent/pin", f"CA{n:032x}", Digits="000000", From=f"+8613800{n:06d}"
            )
        post(client, "/voice/agent/pin", "CA" + "d" * 32, Digits=PIN)
        assert AgentStore(store.engine).on_line("CA" + "d" * 32) is None  # spent at 3, not 20
    finally:
        client.close()


@pytest.mark.slow
def test_right_pins_give_back_what_they_took_and_never_spend_the_budget(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"agent_pin_budget": 3}), clock=FixedClock(T0))
    client = AppClient(app)
    try:
        store: Store = app.state.services.store
        agents = AgentStore(store.engine)
        agents.add("li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret(PIN), T0)
        post(client, "/voice/agent/pin", "CA" + "1" * 32, Digits="864209", From="+8613800000001")
        post(client, "/voice/agent/pin", "CA" + "2" * 32, Digits="864209")  # li's first try
        for n in range(5):  # more logins than the budget holds
            line_call = f"CA{n + 3:032x}"
            document = post(client, "/voice/agent/pin", line_call, Digits=PIN)
            assert [say.text for say in document.iter("Say")][0] == "您已登录。"
        assert agents.pin_check(LI_PHONE, budget_window(T0)).failures == 2
        post(client, "/voice/agent/pin", "CA" + "b" * 32, Digits="864209", From="+8613800000002")
        post(client, "/voice/agent/pin", "CA" + "c" * 32, Digits=PIN)
        assert agents.on_line("CA" + "c" * 32) is None  # three refused: spent
    finally:
        client.close()


@pytest.mark.slow
def test_a_pin_stored_before_weak_pins_were_refused_still_logs_the_agent_in(
    settings: Settings,
) -> None:
    app = create_app(settings, clock=FixedClock(T0))
    client = AppClient(app)
    try:
        store: Store = app.state.services.store
        AgentStore(store.engine).add(
            "li", [LI_PHONE], Skills(("zh-CN",), ("cn",)), hash_secret("123456"), T0
        )
        document = post(client, "/voice/agent/pin", Digits="123456")
        assert [say.text for say in document.iter("Say")][0] == "您已登录。"
    finally:
        client.close()


@pytest.mark.slow
def test_a_wake_takes_its_caller_and_one_that_comes_late_asks_for_the_code_again(
    app_store: tuple[AppClient, Store],
) -> None:
    client, store = app_store
    AgentStore(store.engine).log_in("li", LINE_CALL, T0)
    woken = post(client, f"/voice/agent/offer?q=cn-zh-CN&c={sid(1)}")
    dial = woken.find("Dial")
    assert dial is not None and dial.findtext("Queue") == "cn-zh-CN"
    assert dial.get("action") == f"/voice/agent/dialed?q=cn-zh-CN&c={sid(1)}"
    ended = {"DialCallStatus": "completed", "DialCallSid": sid(1), "DialCallDuration": "60"}
    post(client, f"/voice/agent/dialed?q=cn-zh-CN&c={sid(1)}", **ended)
    # A second wake reaching Li while she keys the call's code gives her the question again.
    late = post(client, f"/voice/agent/offer?q=cn-zh-CN&c={sid(2)}")
    assert [say.text for say in late.iter("Say")][0] == "请选择本次通话的小结。"
    assert late.find("Gather") is not None and late.find("Dial") is None
    agent = AgentStore(store.engine).get("li")
    assert agent is not None and agent.state is AgentState.WRAP_UP and agent.serving == sid(1)
    # Woken on a call nobody is logged in on: never a way into the queues.
    stranger = post(client, f"/voice/agent/offer?q=cn-zh-CN&c={sid(1)}", "CA" + "b" * 32)
    assert stranger.find("Dial") is None and stranger.find("Hangup") is not None
