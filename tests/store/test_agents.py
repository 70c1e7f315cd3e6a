"""Agents in the shared store, on SQLite and PostgreSQL: who they are, the PIN lock, their
states, who waits where since when, and two agents choosing at the same moment."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from ivr.engine.agent_line import (
    MAX_PIN_TRIES,
    PIN_BUDGET,
    PIN_BUDGET_WINDOW,
    PRESENCE_CHECKED,
    AgentState,
    Waiting,
    budget_window,
)
from ivr.engine.line_state import Skills, Staffing
from ivr.engine.routing import WAKE_HOLD
from ivr.store import Store
from ivr.store.agents import (
    AgentExists,
    AgentStore,
    Credentials,
    PhoneTaken,
    PinCheck,
    PinTry,
)
from ivr.store.staffing import LiveStaffing, QueueRecords
from tests.support.agents import (
    AMY_PHONE,
    ENGLISH_IN_JAPAN_AND_CHINA,
    LI_PHONE,
    PIN_HASH,
    T0,
    add,
    sid,
)
from tests.support.databases import replica

LOCK = timedelta(minutes=15)
HOLD = timedelta(seconds=45)
WRAP_UP = timedelta(seconds=30)
LINE_CALL, OTHER_LINE_CALL = "CA" + "e" * 32, "CA" + "f" * 32


def queue(store: Store, n: int, name: str, minutes: float, reason: str = "main") -> str:
    """Caller n joined `name` `minutes` before T0 (Twilio enqueued them after a 4-second
    "please hold"); their CallSid."""
    region, language = name.split("-")[0], "-".join(name.split("-")[1:3])
    at = T0 - timedelta(minutes=minutes)
    store.remember_queue_entry(sid(n), "+8613812345678", name, region, language, reason, None, at)
    store.record_in_queue(sid(n), at + timedelta(seconds=4), at + timedelta(seconds=4))
    return sid(n)


def credentials(agent_store: AgentStore, number: str) -> Credentials | None:
    return agent_store.pin_check(number, budget_window(T0)).agent


def logged_in(agent_store: AgentStore, name: str = "li", line_call: str = LINE_CALL) -> None:
    assert agent_store.log_in(name, line_call, T0) is not None


# -- who the agents are ----------------------------------------------------------------------
@pytest.mark.slow
def test_an_agent_is_added_offline_with_phones_skills_and_only_a_pin_hash(
    agent_store: AgentStore,
) -> None:
    added = add(agent_store)
    assert added.phones == (LI_PHONE,) and added.state is AgentState.OFFLINE
    assert added.skills == Skills(("zh-CN", "en-US"), ("cn", "sg"))
    found = credentials(agent_store, LI_PHONE)
    assert found is not None and found.name == "li" and found.pin_hash == PIN_HASH
    assert credentials(agent_store, AMY_PHONE) is None


def test_a_name_or_a_phone_cannot_be_taken_twice(agent_store: AgentStore) -> None:
    add(agent_store)
    with pytest.raises(AgentExists):
        add(agent_store, phone=AMY_PHONE)
    with pytest.raises(PhoneTaken):
        add(agent_store, name="amy", phone=LI_PHONE)
    assert [agent.name for agent in agent_store.all()] == ["li"]


def test_a_removed_agent_and_their_phones_are_gone(agent_store: AgentStore) -> None:
    add(agent_store)
    logged_in(agent_store)
    assert agent_store.remove("li", T0)
    assert agent_store.get("li") is None and credentials(agent_store, LI_PHONE) is None
    assert agent_store.on_line(LINE_CALL) is None
    assert not agent_store.remove("li", T0)


# -- the PIN ------------------------------------------------------------------------------------
def take(
    agent_store: AgentStore, name: str, attempt: str, at: datetime = T0, budget: int = PIN_BUDGET
) -> PinTry:
    """What a keyed PIN at `name`'s phone ("" for anyone else's) takes before it is compared."""
    return agent_store.take_pin_try(name, attempt, budget_window(at), at, budget, LOCK)


def failures(agent_store: AgentStore, at: datetime = T0) -> int:
    return agent_store.pin_check(AMY_PHONE, budget_window(at)).failures


def test_three_tries_in_a_row_lock_the_agent_and_a_retried_webhook_takes_one(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    assert take(agent_store, "li", f"{LINE_CALL}:0").tried
    again = take(agent_store, "li", f"{LINE_CALL}:0")  # the same webhook again
    assert again.within_budget and not again.tried
    assert take(agent_store, "li", f"{LINE_CALL}:1").lock is None
    last = take(agent_store, "li", f"{OTHER_LINE_CALL}:0")  # a new call counts too
    assert last.tried and last.lock == T0 + LOCK
    agent = agent_store.get("li")
    assert agent is not None and agent.locked(T0) and agent.locked_until == T0 + LOCK
    assert not take(agent_store, "li", f"{OTHER_LINE_CALL}:1").tried  # locked: no try at all
    assert agent_store.log_in("li", LINE_CALL, T0 + timedelta(minutes=14)) is None
    assert agent_store.log_in("li", LINE_CALL, T0 + LOCK) is not None


def test_a_login_starts_the_count_of_tries_again(agent_store: AgentStore) -> None:
    add(agent_store)
    take(agent_store, "li", "a")
    take(agent_store, "li", "b")
    logged_in(agent_store)
    take(agent_store, "li", "c")
    assert take(agent_store, "li", "d").lock is None
    agent = agent_store.get("li")
    assert agent is not None and not agent.locked(T0)


def test_a_right_pin_gives_back_its_share_of_the_budget_and_the_lock_it_set(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    take(agent_store, "li", "a")
    take(agent_store, "li", "b")
    third = take(agent_store, "li", "c")
    assert third.lock is not None and failures(agent_store) == 3
    assert agent_store.log_in("li", LINE_CALL, T0, third) is not None  # it was right
    agent = agent_store.get("li")
    assert agent is not None and not agent.locked(T0) and agent.failed_pins == 0
    assert failures(agent_store) == 2  # the two refused ones still count


def test_a_right_pin_does_not_lift_a_lock_someone_else_set(agent_store: AgentStore) -> None:
    add(agent_store)
    mine = take(agent_store, "li", "a")
    agent_store.lock("li", T0 + timedelta(hours=1), T0)  # an operator, meanwhile
    assert agent_store.log_in("li", LINE_CALL, T0, mine) is None
    agent = agent_store.get("li")
    assert agent is not None and agent.locked(T0)
    assert failures(agent_store) == 0  # the PIN was right all the same: no failure


def test_a_share_goes_back_only_to_the_window_that_counted_it(agent_store: AgentStore) -> None:
    add(agent_store)
    earlier = take(agent_store, "li", "a")
    next_hour = T0 + PIN_BUDGET_WINDOW
    take(agent_store, "", "b", next_hour)
    assert agent_store.log_in("li", LINE_CALL, next_hour, earlier) is not None
    assert failures(agent_store, next_hour) == 1


def test_a_pin_check_finds_the_agent_of_a_number_and_nobody_for_any_other(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    window = budget_window(T0)
    assert agent_store.pin_check(LI_PHONE, window) == PinCheck(Credentials("li", PIN_HASH, None), 0)
    assert agent_store.pin_check(AMY_PHONE, window) == PinCheck(None, 0)
    assert agent_store.pin_check("", window) == PinCheck(None, 0)  # a withheld number


def test_every_keyed_pin_takes_from_one_budget_that_every_replica_shares(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    other = replica(store)
    try:
        theirs = AgentStore(other.engine)
        counted = [
            take(agent_store, "li", "a").failures,  # a PIN at an agent's phone
            take(theirs, "", "b").failures,  # anyone else's, on another replica
            take(agent_store, "", "c").failures,
        ]
        assert counted == [1, 2, 3]
        window = budget_window(T0)
        assert agent_store.pin_check(AMY_PHONE, window).failures == 3
        assert theirs.pin_check(LI_PHONE, window).failures == 3
    finally:
        other.close()
    agent = agent_store.get("li")
    assert agent is not None and agent.failed_pins == 1  # only the one at li's phone


def test_a_spent_budget_takes_nothing_not_even_an_agents_try(agent_store: AgentStore) -> None:
    add(agent_store)
    for attempt in "abc":
        assert take(agent_store, "", attempt, budget=3).within_budget
    spent = take(agent_store, "li", "d", budget=3)
    assert not spent.within_budget and not spent.tried and spent.failures == 3
    agent = agent_store.get("li")
    assert agent is not None and agent.failed_pins == 0
    assert failures(agent_store) == 3
    assert take(agent_store, "li", "e", T0 + PIN_BUDGET_WINDOW, budget=3).tried


def test_a_locked_agents_pin_takes_from_the_budget_but_gets_no_try(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    agent_store.lock("li", T0 + timedelta(hours=1), T0)
    locked = take(agent_store, "li", "a")
    assert locked.within_budget and not locked.tried and locked.lock is None
    assert failures(agent_store) == 1


def test_the_budget_starts_again_with_each_window(agent_store: AgentStore) -> None:
    for attempt in "abc":
        take(agent_store, "", attempt)
    next_hour = T0 + PIN_BUDGET_WINDOW
    assert take(agent_store, "", "d", next_hour).failures == 1
    assert agent_store.pin_check(AMY_PHONE, budget_window(next_hour)).failures == 1
    # A replica whose clock lags still counts in the newest window, never starts an old one.
    assert take(agent_store, "", "e", next_hour - timedelta(minutes=61)).failures == 2
    assert agent_store.pin_check(AMY_PHONE, budget_window(next_hour)).failures == 2


def test_pins_keyed_for_nobody_change_no_agent(agent_store: AgentStore) -> None:
    add(agent_store)
    for attempt in "abcd":
        assert not take(agent_store, "", attempt).tried
    agent = agent_store.get("li")
    assert agent is not None and agent.failed_pins == 0 and not agent.locked(T0)


@pytest.mark.slow
def test_pins_keyed_at_once_on_many_replicas_take_no_more_than_the_budget_and_the_tries(
    store: Store, agent_store: AgentStore
) -> None:
    """Forty PINs at li's phone at the same moment, from four replicas, against a budget of
    20: exactly 20 shares of the budget and 3 of li's tries are taken, and the third locks."""
    add(agent_store)
    replicas = [replica(store) for _ in range(4)]
    at_once = 40
    start = threading.Barrier(at_once)

    def key(n: int) -> PinTry:
        start.wait()
        return take(AgentStore(replicas[n % 4].engine), "li", f"{sid(n)}:0", budget=20)

    try:
        with ThreadPoolExecutor(at_once) as pool:
            taken = list(pool.map(key, range(at_once)))
    finally:
        for other in replicas:
            other.close()
    assert sum(1 for t in taken if t.within_budget) == 20 == failures(agent_store)
    assert sum(1 for t in taken if t.tried) == MAX_PIN_TRIES
    assert sum(1 for t in taken if t.lock is not None) == 1
    agent = agent_store.get("li")
    assert agent is not None and agent.locked(T0)


def test_an_operator_lock_logs_the_agent_out_and_unlock_lets_them_in(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    logged_in(agent_store)
    assert agent_store.lock("li", T0 + timedelta(hours=1), T0)
    assert agent_store.on_line(LINE_CALL) is None
    assert agent_store.log_in("li", LINE_CALL, T0) is None
    assert agent_store.unlock("li", T0)
    assert agent_store.log_in("li", LINE_CALL, T0) is not None
    assert not agent_store.lock("nobody", T0, T0) and not agent_store.unlock("nobody", T0)


@pytest.mark.slow
def test_a_new_pin_replaces_the_old_hash_and_ends_the_session_of_the_old_one(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    logged_in(agent_store)
    assert agent_store.set_pin("li", "scrypt$other", T0)
    found = credentials(agent_store, LI_PHONE)
    assert found is not None and found.pin_hash == "scrypt$other"
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.OFFLINE
    assert not agent_store.set_pin("nobody", "scrypt$other", T0)


def test_a_hang_up_that_overtakes_the_pin_check_leaves_the_agent_offline(
    store: Store, agent_store: AgentStore
) -> None:
    """The line's status callback can arrive while its PIN webhook is still hashing."""
    add(agent_store)
    caller = queue(store, 1, "cn-zh-CN", 3)
    assert agent_store.line_ended(LINE_CALL, T0) is None  # nobody logged in on it yet
    assert agent_store.log_in("li", LINE_CALL, T0) is None
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.OFFLINE
    assert QueueRecords(agent_store.engine).staffing(T0) == Staffing(())
    waiting = QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0)
    assert [entry.call_sid for entry in waiting] == [caller]


# -- states --------------------------------------------------------------------------------
def test_the_agent_line_call_carries_the_login_and_its_end_logs_out(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    logged_in(agent_store)
    on_line = agent_store.on_line(LINE_CALL)
    assert on_line is not None and on_line.state is AgentState.AVAILABLE
    assert agent_store.on_line(OTHER_LINE_CALL) is None
    assert agent_store.line_ended(OTHER_LINE_CALL, T0) is None  # another call: nothing changes
    assert agent_store.line_ended(LINE_CALL, T0) == "li"
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.OFFLINE and agent.line_call is None


def test_a_call_taken_marks_the_caller_and_wrap_up_follows(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    caller = queue(store, 1, "cn-zh-CN", 3)
    taken = agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0), T0, HOLD
    )
    assert taken is not None and taken.call_sid == caller
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.ON_CALL and agent.serving == caller
    ended = T0 + timedelta(minutes=5)
    for _ in range(2):  # Twilio may deliver the Dial action twice: the same result
        agent_store.dial_ended("li", LINE_CALL, caller, T0 + timedelta(seconds=20), ended, WRAP_UP)
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.WRAP_UP
    assert agent.wrap_up_until == ended + WRAP_UP
    assert agent.serving == caller and agent.calls_taken == 1  # whose code they key; counted once
    assert agent.shown_state(ended + WRAP_UP) is AgentState.AVAILABLE
    record = store.call(caller)
    assert record is not None and record.agent == "li"
    assert record.answered_at == T0 + timedelta(seconds=20)


def test_a_dial_action_after_the_hang_up_does_not_bring_the_agent_back(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    caller = queue(store, 1, "cn-zh-CN", 3)
    agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0), T0, HOLD
    )
    agent_store.line_ended(LINE_CALL, T0)
    agent_store.dial_ended("li", LINE_CALL, caller, T0, T0, WRAP_UP)
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.OFFLINE
    record = store.call(caller)
    assert record is not None and record.agent == "li"  # the call is still theirs


# -- who waits where since when ---------------------------------------------------------------
def test_only_callers_still_waiting_are_offered_with_their_place_in_line(
    store: Store, agent_store: AgentStore
) -> None:
    first = queue(store, 1, "cn-zh-CN", 9)
    queue(store, 2, "cn-zh-CN", 8)
    left = queue(store, 3, "cn-en-US", 20)
    store.record_queue_result(left, "leave", 60, T0 - timedelta(minutes=19))
    ended = queue(store, 4, "cn-en-US", 19)
    store.record_status(ended, "+8613812345678", "completed", 60, T0 - timedelta(minutes=18))
    queue(store, 5, "cn-en-US", 5 * 60)  # from a call whose end we never heard of
    english = queue(store, 6, "cn-en-US", 2)
    found = QueueRecords(agent_store.engine).waiting(
        ["cn-zh-CN", "cn-en-US", "cn-zh-CN-priority"], T0
    )
    assert [(w.call_sid, w.queue) for w in found] == [
        (first, "cn-zh-CN"),
        (english, "cn-en-US"),
    ]
    assert found[0].queued_at == T0 - timedelta(minutes=9) and found[0].language == "zh-CN"


def test_a_person_called_back_keeps_the_place_they_first_had(
    store: Store, agent_store: AgentStore
) -> None:
    store.callbacks.book(
        sid(90), "+8613700001234", "cn", "zh-CN", "password", "424242", T0 - timedelta(hours=1)
    )
    callback = store.callbacks.for_call(sid(90))
    assert callback is not None
    person = queue(store, 91, "cn-zh-CN-callback", 1)
    store.callbacks.joined_queue(callback.id, person, T0 - timedelta(minutes=1))
    (found,) = QueueRecords(agent_store.engine).waiting(["cn-zh-CN-callback"], T0)
    assert found.call_sid == person and found.since == T0 - timedelta(hours=1)


def test_a_caller_being_talked_to_or_taken_is_not_offered_again(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    first = queue(store, 1, "cn-zh-CN", 9)
    second = queue(store, 2, "cn-zh-CN", 8)
    agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0), T0, HOLD
    )
    # While Li talks to the first, the second is the front of the queue.
    assert [w.call_sid for w in QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0)] == [
        second
    ]
    agent_store.dial_ended("li", LINE_CALL, first, T0, T0 + timedelta(minutes=2), WRAP_UP)
    assert [w.call_sid for w in QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0)] == [
        second
    ]


def test_a_dial_that_found_the_queue_empty_clears_who_we_thought_waited(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    queue(store, 1, "cn-zh-CN", 9)  # taken some other way: our records never heard
    agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0), T0, HOLD
    )
    later = queue(store, 2, "cn-zh-CN", -1)  # joins after the Dial started
    agent_store.dial_ended("li", LINE_CALL, None, None, T0, WRAP_UP, ("cn-zh-CN", T0))
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.AVAILABLE
    assert [
        w.call_sid
        for w in QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0 + timedelta(minutes=2))
    ] == [later]


# -- claims: one agent per queue while the whisper plays -----------------------------------------
def test_a_second_agent_skips_the_queue_the_first_is_taking_from(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    add(agent_store, "amy", AMY_PHONE, ENGLISH_IN_JAPAN_AND_CHINA)
    logged_in(agent_store)
    logged_in(agent_store, "amy", OTHER_LINE_CALL)
    queue(store, 1, "cn-en-US", 9)
    queue(store, 2, "cn-en-US", 8)
    japan = queue(store, 3, "jp-en-US", 1)
    li = agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-en-US"], T0), T0, HOLD
    )
    assert li is not None and li.call_sid == sid(1)
    offered = QueueRecords(agent_store.engine).waiting(["cn-en-US", "jp-en-US"], T0)
    amy = agent_store.take("amy", OTHER_LINE_CALL, offered, T0, HOLD)
    assert amy is not None and amy.call_sid == japan
    # Once Li's claim has lapsed, the queue's next caller can be taken.
    later = T0 + HOLD
    amy_again = agent_store.take(
        "amy",
        OTHER_LINE_CALL,
        QueueRecords(agent_store.engine).waiting(["cn-en-US"], later),
        later,
        HOLD,
    )
    assert amy_again is not None and amy_again.call_sid == sid(2)


def test_an_agent_on_another_line_call_takes_nobody(store: Store, agent_store: AgentStore) -> None:
    add(agent_store)
    logged_in(agent_store)
    queue(store, 1, "cn-zh-CN", 9)
    assert (
        agent_store.take(
            "li",
            OTHER_LINE_CALL,
            QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0),
            T0,
            HOLD,
        )
        is None
    )


@pytest.mark.slow
def test_two_agents_choosing_at_the_same_moment_never_take_the_same_queue(store: Store) -> None:
    main = AgentStore(store.engine)
    names = ["a1", "a2", "a3", "a4"]
    for n, name in enumerate(names):
        main.add(name, [f"+1202555010{n}"], Skills(("en-US",), ("cn",)), PIN_HASH, T0)
        assert main.log_in(name, sid(200 + n), T0) is not None
    for n, name in enumerate(["cn-en-US", "cn-en-US-priority", "cn-en-US-callback"]):
        queue(store, n + 1, name, 5 - n)
    offered = QueueRecords(main.engine).waiting(
        ["cn-en-US", "cn-en-US-priority", "cn-en-US-callback"], T0
    )
    replicas = [replica(store) for _ in names]
    start = threading.Barrier(len(names))

    def choose(n: int) -> Waiting | None:
        start.wait()
        return AgentStore(replicas[n].engine).take(names[n], sid(200 + n), offered, T0, HOLD)

    try:
        with ThreadPoolExecutor(len(names)) as pool:
            taken = [w for w in pool.map(choose, range(len(names))) if w is not None]
    finally:
        for other in replicas:
            other.close()
    assert len(taken) == 3 and len({w.queue for w in taken}) == 3


# -- staffing ---------------------------------------------------------------------------------
def test_staffing_is_unknown_until_an_agent_is_set_up_then_follows_logins(
    agent_store: AgentStore,
) -> None:
    assert QueueRecords(agent_store.engine).staffing(T0) is None
    add(agent_store)
    nobody = QueueRecords(agent_store.engine).staffing(T0)
    assert nobody is not None and not nobody.serves("cn", "zh-CN")
    logged_in(agent_store)
    staffed = QueueRecords(agent_store.engine).staffing(T0)
    assert staffed is not None and staffed.serves("cn", "zh-CN")
    # A login whose line went silent for longer than any call lasts is not counted.
    stale = QueueRecords(agent_store.engine).staffing(T0 + timedelta(hours=5))
    assert stale is not None and not stale.serves("cn", "zh-CN")
    agent_store.line_ended(LINE_CALL, T0)
    after = QueueRecords(agent_store.engine).staffing(T0)
    assert after is not None and not after.serves("cn", "zh-CN")


def test_a_dial_action_after_the_status_callback_still_marks_the_call_taken(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    caller = queue(store, 1, "cn-zh-CN", 3)
    agent_store.take(
        "li", LINE_CALL, QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0), T0, HOLD
    )
    agent_store.line_ended(LINE_CALL, T0 + timedelta(minutes=3))
    assert agent_store.claimed_by("cn-zh-CN", caller) == "li"
    assert agent_store.claimed_by("cn-zh-CN", sid(2)) is None


def test_each_replica_reads_staffing_when_due_and_keeps_it_while_the_database_is_away(
    agent_store: AgentStore,
) -> None:
    add(agent_store)
    live = LiveStaffing(QueueRecords(agent_store.engine))
    assert live.claim(T0)
    live.refresh(T0)
    before = live.current()
    assert before is not None and not before.serves("cn", "zh-CN")
    logged_in(agent_store)
    assert not live.claim(T0 + timedelta(seconds=1))  # read 1 s ago: the copy stands
    live.stale()  # a login through this replica
    assert live.claim(T0 + timedelta(seconds=1))
    live.refresh(T0 + timedelta(seconds=1))
    after = live.current()
    assert after is not None and after.serves("cn", "zh-CN")
    with agent_store.engine.begin() as connection:  # the table cannot be read any more
        connection.execute(text("DROP TABLE agents"))
    live.stale()
    assert live.claim(T0 + timedelta(seconds=2))
    live.refresh(T0 + timedelta(seconds=2))
    assert live.current() is after


# -- routing: free agents and the wakes on their way ----------------------------------------
def test_a_wake_holds_its_agent_and_its_caller_until_taken_or_given_back(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    add(agent_store, "amy", AMY_PHONE, Skills(("zh-CN",), ("cn",)))
    logged_in(agent_store)
    logged_in(agent_store, "amy", OTHER_LINE_CALL)
    first, second = queue(store, 1, "cn-zh-CN", 3), queue(store, 2, "cn-zh-CN", 2)
    woken = T0 + timedelta(seconds=1)
    assert agent_store.wake("li", LINE_CALL, first, woken)
    # One agent per caller, one caller per agent, while the wake is on its way...
    assert not agent_store.wake("amy", OTHER_LINE_CALL, first, woken)
    assert not agent_store.wake("li", LINE_CALL, second, woken)
    free = {agent.name: agent.woken_for for agent in agent_store.available(woken)}
    assert free == {"li": first, "amy": None}
    # ...and Li's own check takes nobody meanwhile: the wake would cut it off.
    callers = QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], woken)
    assert agent_store.take("li", LINE_CALL, callers, woken, HOLD) is None
    # A wake Twilio refused is given back at once; one never answered lapses.
    agent_store.unwake("li", woken)
    assert agent_store.wake("amy", OTHER_LINE_CALL, first, woken)
    lapsed = woken + WAKE_HOLD + timedelta(seconds=1)
    assert agent_store.wake("li", LINE_CALL, first, lapsed)
    # On the wake, Li tries the caller she was woken for first, wherever the list has them.
    callers = QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], lapsed)
    elsewhere = Waiting("CA" + "9" * 32, "cn-en-US", T0, T0, "cn", "en-US", "main", None)
    taken = agent_store.take("li", LINE_CALL, [elsewhere, *callers], lapsed, HOLD, first)
    assert taken is not None and taken.call_sid == first
    assert {agent.name for agent in agent_store.available(lapsed)} == {"amy"}


def test_a_late_wake_takes_nobody_from_an_agent_who_moved_on(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    caller = queue(store, 1, "cn-zh-CN", 3)
    callers = QueueRecords(agent_store.engine).waiting(["cn-zh-CN"], T0)
    assert agent_store.take("li", LINE_CALL, callers, T0, HOLD) is not None  # her own check
    later = T0 + timedelta(seconds=5)
    assert agent_store.take("li", LINE_CALL, callers, later, HOLD, woken_for=caller) is None
    agent = agent_store.get("li")
    assert agent is not None and agent.state is AgentState.ON_CALL and agent.serving == caller


def test_an_agent_idle_long_enough_to_be_asked_if_still_there_is_not_routed_to(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    (li,) = agent_store.available(T0 + timedelta(minutes=9))
    assert li.available_since == T0
    assert agent_store.available(T0 + PRESENCE_CHECKED + timedelta(seconds=1)) == []


def test_an_agent_available_from_before_routing_counts_since_their_state_changed(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    logged_in(agent_store)
    with agent_store.engine.begin() as connection:  # as the upgrade found agents logged in
        connection.execute(text("UPDATE agents SET available_since = NULL"))
    (li,) = agent_store.available(T0 + timedelta(minutes=1))
    record = agent_store.get("li")
    assert record is not None
    assert li.available_since == record.available_since == T0
    assert record.as_idle(T0 + timedelta(minutes=1)).available_since == T0


def test_a_hand_edited_skill_that_cannot_be_read_loses_only_its_level(
    store: Store, agent_store: AgentStore
) -> None:
    add(agent_store)
    with agent_store.engine.begin() as connection:
        connection.execute(text("UPDATE agents SET languages = 'zh-CN:9,en-US:4'"))
    agent = agent_store.get("li")
    assert agent is not None and agent.skills.languages == ("zh-CN", "en-US")
    assert agent.skills.level("cn", "en-US") == 3
