"""Callback requests on SQLite and PostgreSQL: booking (idempotent, with fraud limits), the order
of service, claims that several dispatchers share, retries, expiry and the caller's note."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from ivr.store import Booking, CallbackRecord, Limits, Store
from ivr.store.models import Callback
from tests.support.databases import replica
from tests.support.moments import instant

T0 = instant("2026-03-02T10:00+09:00")
HOLD = timedelta(minutes=15)
NUMBER = "+819012345678"
LOOSE = Limits(per_number_per_day=20, per_hour=10_000)
ATTEMPTS, RETRY = 3, 600


def sid(n: int) -> str:
    return f"CA{n:032x}"


def book(
    store: Store,
    n: int,
    *,
    number: str = NUMBER,
    at: datetime = T0,
    region: str = "jp",
    code: str | None = None,
    limits: Limits | None = None,
    reason: str | None = "main",
) -> Booking:
    return store.callbacks.book(
        sid(n), number, region, "en-US", reason, code or f"{n:06d}", at, limits
    )


def booked(store: Store, n: int) -> CallbackRecord:
    record = store.callbacks.for_call(sid(n))
    assert record is not None
    return record


def fresh(store: Store, callback_id: int) -> CallbackRecord:
    record = store.callbacks.get(callback_id)
    assert record is not None
    return record


def count(store: Store) -> int:
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(Callback)).scalar_one())


@pytest.fixture
def replicas(store: Store) -> Iterator[list[Store]]:
    made = [replica(store) for _ in range(4)]
    yield made
    for other in made:
        other.close()


# --- booking -----------------------------------------------------------------------------------


def test_booking_twice_for_the_same_call_gives_the_same_code_and_one_row(store: Store) -> None:
    first = book(store, 1, code="424242")
    again = book(store, 1, code="999999", at=T0 + timedelta(seconds=15))
    assert first == again == Booking("424242")
    assert count(store) == 1
    assert booked(store, 1).code == "424242"


def test_the_booking_keeps_code_number_reason_and_times(store: Store) -> None:
    book(store, 1, code="013579", number="+819087654321", reason="pending")
    record = booked(store, 1)
    assert (record.code, record.number, record.region, record.language, record.reason) == (
        "013579",
        "+819087654321",
        "jp",
        "en-US",
        "pending",
    )
    assert (record.status, record.attempts, record.note_due) == ("pending", 0, False)
    assert record.booked_at == record.next_attempt_at == record.waiting_since == T0
    assert record.transaction_ref is None and record.last_call_sid is None
    assert store.callbacks.get(record.id) == record
    assert store.callbacks.for_call(sid(2)) is None and store.callbacks.get(record.id + 1) is None


def test_the_queue_entry_gives_the_reference_and_the_place_in_line(store: Store) -> None:
    first_queued = T0 - timedelta(minutes=20)
    store.remember_queue_entry(
        sid(1), NUMBER, "jp-en-US-priority", "jp", "en-US", "pending", "12345678", first_queued
    )
    # queued again later (a second queue, no reference this time): the first join counts
    store.remember_queue_entry(
        sid(1), NUMBER, "jp-en-US", "jp", "en-US", "pending", None, T0 - timedelta(minutes=5)
    )
    book(store, 1, reason="pending")
    record = booked(store, 1)
    assert record.transaction_ref == "12345678"
    assert record.waiting_since == first_queued and record.booked_at == T0


def test_a_caller_who_never_queued_waits_from_the_booking(store: Store) -> None:
    store.record_step(sid(1), NUMBER, "jp", "en-US", "step-1", "main:9", T0 - timedelta(minutes=2))
    book(store, 1)
    record = booked(store, 1)
    assert record.waiting_since == T0 and record.transaction_ref is None


@pytest.mark.slow
def test_booking_the_same_call_from_threads_at_once_stores_one_code(
    store: Store, replicas: list[Store]
) -> None:
    barrier = threading.Barrier(len(replicas))

    def attempt(index: int) -> Booking:
        barrier.wait()
        return book(replicas[index], 1, code=f"{index}{index}{index}{index}{index}{index}")

    with ThreadPoolExecutor(len(replicas)) as pool:
        results = list(pool.map(attempt, range(len(replicas))))
    assert count(store) == 1
    assert {result.code for result in results} == {booked(store, 1).code}


# --- limits ------------------------------------------------------------------------------------


def test_many_bookings_for_one_number_at_once_stay_within_the_limit(
    store: Store, replicas: list[Store]
) -> None:
    # Counting and adding must not interleave: concurrent requests all saw the old count.
    limits = Limits(per_number_per_day=2, per_hour=60)
    barrier = threading.Barrier(len(replicas))

    def attempt(index: int) -> Booking:
        barrier.wait()
        return book(replicas[index], 100 + index, limits=limits)

    with ThreadPoolExecutor(len(replicas)) as pool:
        results = list(pool.map(attempt, range(len(replicas))))
    assert sum(result.code is not None for result in results) == 2
    assert {result.refused for result in results if result.code is None} == {"number_limit"}
    assert count(store) == 2


@pytest.mark.slow
def test_one_number_books_at_most_per_number_per_day(store: Store) -> None:
    limits = Limits(per_number_per_day=2, per_hour=60)
    assert book(store, 1, limits=limits).code == "000001"
    assert book(store, 2, limits=limits, at=T0 + timedelta(hours=1)).code == "000002"
    refused = book(store, 3, limits=limits, at=T0 + timedelta(hours=2))
    assert refused == Booking(None, "number_limit")
    assert store.callbacks.for_call(sid(3)) is None and count(store) == 2
    # another number is not limited by this one
    assert book(store, 4, limits=limits, number="+819011112222").code == "000004"
    # a day after the first booking, one more fits
    assert book(store, 5, limits=limits, at=T0 + timedelta(days=1, seconds=1)).code == "000005"
    assert book(store, 6, limits=limits, at=T0 + timedelta(days=1, seconds=2)).refused == (
        "number_limit"
    )


def test_a_retried_booking_gets_its_code_even_at_the_limit(store: Store) -> None:
    limits = Limits(per_number_per_day=2, per_hour=2)
    book(store, 1, limits=limits)
    book(store, 2, limits=limits)
    assert book(store, 1, limits=limits, code="999999") == Booking("000001")


def _pressed_9_on_the_callback(store: Store, callback_id: int) -> None:
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None and claimed.id == callback_id
    store.callbacks.dialed(callback_id, sid(90), T0)
    assert store.callbacks.cancel(callback_id, T0 + timedelta(seconds=30))


def _hung_up_in_the_callback_queue(store: Store, callback_id: int) -> None:
    store.callbacks.claim("jp", T0, HOLD)
    assert store.callbacks.joined_queue(callback_id, sid(90), T0)
    store.callbacks.attempt_ended(
        callback_id, sid(90), "completed", T0, ATTEMPTS, RETRY, queue_result="hangup"
    )


def _cancelled_before_it_was_placed(store: Store, callback_id: int) -> None:
    store.callbacks.claim("jp", T0, HOLD)  # then the region no longer calls that number
    assert store.callbacks.cancel(callback_id, T0)


@pytest.mark.parametrize(
    "cancelled",
    [_pressed_9_on_the_callback, _hung_up_in_the_callback_queue, _cancelled_before_it_was_placed],
    ids=lambda how: how.__name__.strip("_"),
)
def test_cancelled_callbacks_count_toward_the_number_limit(
    store: Store, cancelled: Callable[[Store, int], None]
) -> None:
    limits = Limits(per_number_per_day=2, per_hour=60)
    book(store, 1, limits=limits)
    book(store, 2, limits=limits)
    cancelled(store, booked(store, 1).id)
    assert booked(store, 1).status == "cancelled"
    assert book(store, 3, limits=limits, at=T0 + timedelta(minutes=2)).refused == "number_limit"
    # a day after the cancelled booking, one more fits again
    later = T0 + timedelta(days=1, seconds=1)
    assert book(store, 4, limits=limits, at=later).code == "000004"


def test_done_and_expired_callbacks_count_toward_the_number_limit(store: Store) -> None:
    limits = Limits(per_number_per_day=2, per_hour=60)
    book(store, 1, limits=limits)
    book(store, 2, limits=limits)
    first = store.callbacks.claim("jp", T0, HOLD)
    assert first is not None and store.callbacks.reached(first.id, T0)
    assert store.callbacks.expire_old("jp", T0 + timedelta(seconds=1), T0) == 1
    assert book(store, 3, limits=limits).refused == "number_limit"


def test_a_region_books_at_most_per_hour(store: Store) -> None:
    limits = Limits(per_number_per_day=20, per_hour=3)
    for n in range(3):
        at = T0 + timedelta(minutes=10 * n)
        assert book(store, n, number=f"+8190111122{n:02d}", at=at, limits=limits).code
    refused = book(store, 3, number="+819011112203", at=T0 + timedelta(minutes=30), limits=limits)
    assert refused == Booking(None, "region_limit")
    assert store.callbacks.for_call(sid(3)) is None
    # another region has its own budget
    other = book(store, 4, number="+82101234567", region="kr", limits=limits)
    assert other.code == "000004"
    # an hour after the first booking, one more fits
    later = T0 + timedelta(hours=1, seconds=1)
    assert book(store, 5, number="+819011112205", at=later, limits=limits).code == "000005"


def test_without_limits_a_spooled_booking_is_always_accepted(store: Store) -> None:
    for n in range(5):
        book(store, n, limits=Limits(per_number_per_day=2, per_hour=2))
    assert book(store, 9).code == "000009"  # limits=None: a replayed booking
    assert count(store) == 3


# --- claims and the order of service -----------------------------------------------------------


def test_the_longest_waiting_caller_is_called_first_even_if_booked_later(store: Store) -> None:
    book(store, 1, at=T0)  # never queued: waits from T0
    store.remember_queue_entry(
        sid(2), "+819087654321", "jp-en-US", "jp", "en-US", "main", None, T0 - timedelta(hours=1)
    )
    book(store, 2, number="+819087654321", at=T0 + timedelta(minutes=5))
    book(store, 3, number="+819011112222", at=T0 + timedelta(minutes=1))
    now = T0 + timedelta(minutes=10)
    order = [store.callbacks.claim("jp", now, HOLD) for _ in range(4)]
    assert [c.call_sid if c else None for c in order] == [sid(2), sid(1), sid(3), None]


def test_a_claim_is_dialing_and_is_not_claimed_again(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    assert (claimed.status, claimed.attempts, claimed.call_sid) == ("dialing", 1, sid(1))
    assert store.callbacks.claim("jp", T0, HOLD) is None
    assert store.callbacks.claim("jp", T0 + timedelta(days=1), HOLD) is None
    assert fresh(store, claimed.id).status == "dialing"
    assert [c.id for c in store.callbacks.open_callbacks()] == [claimed.id]


def test_only_due_callbacks_of_the_region_are_claimed(store: Store) -> None:
    book(store, 1, at=T0 + timedelta(minutes=1))  # booked after `now`: not due yet
    book(store, 2, region="kr", number="+82101234567")
    assert store.callbacks.claim("jp", T0, HOLD) is None
    assert store.callbacks.claim("us", T0 + timedelta(hours=1), HOLD) is None
    claimed = store.callbacks.claim("kr", T0, HOLD)
    assert claimed is not None and claimed.region == "kr"


def test_a_retry_is_not_due_before_retry_after(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    store.callbacks.dialed(claimed.id, sid(101), T0)
    ended = T0 + timedelta(seconds=35)
    store.callbacks.attempt_ended(claimed.id, sid(101), "no-answer", ended, ATTEMPTS, RETRY)
    due = ended + timedelta(seconds=RETRY)
    assert fresh(store, claimed.id).next_attempt_at == due
    assert store.callbacks.claim("jp", due - timedelta(seconds=1), HOLD) is None
    again = store.callbacks.claim("jp", due, HOLD)
    assert again is not None and (again.id, again.attempts) == (claimed.id, 2)


# --- the end of an attempt ---------------------------------------------------------------------


def test_unanswered_attempts_are_retried_then_expire_with_a_note(store: Store) -> None:
    book(store, 1, code="424242")
    now = T0
    for attempt in range(1, ATTEMPTS + 1):
        claimed = store.callbacks.claim("jp", now, HOLD)
        assert claimed is not None and claimed.attempts == attempt
        call = sid(100 + attempt)
        store.callbacks.dialed(claimed.id, call, now)
        assert fresh(store, claimed.id).last_call_sid == call
        now += timedelta(seconds=40)
        store.callbacks.attempt_ended(claimed.id, call, "busy", now, ATTEMPTS, RETRY)
        record = fresh(store, claimed.id)
        assert (record.attempts, record.last_result) == (attempt, "busy")
        if attempt < ATTEMPTS:
            assert (record.status, record.note_due) == ("pending", False)
            assert record.next_attempt_at == now + timedelta(seconds=RETRY)
            assert store.callbacks.notes_due() == []
            now = record.next_attempt_at
    assert (record.status, record.note_due) == ("expired", True)
    assert store.callbacks.claim("jp", now + timedelta(days=1), HOLD) is None
    assert [c.code for c in store.callbacks.notes_due()] == ["424242"]
    assert store.callbacks.take_note(record.id, now + timedelta(minutes=1))
    assert store.callbacks.notes_due() == []
    sent = fresh(store, record.id)
    assert (sent.status, sent.note_due) == ("expired", False)
    assert sent.note_sent_at == now + timedelta(minutes=1)


def test_a_repeated_status_callback_changes_nothing(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    store.callbacks.dialed(claimed.id, sid(101), T0)
    store.callbacks.attempt_ended(claimed.id, sid(101), "busy", T0, ATTEMPTS, RETRY)
    before = fresh(store, claimed.id)
    later = T0 + timedelta(seconds=30)
    store.callbacks.attempt_ended(claimed.id, sid(101), "busy", later, ATTEMPTS, RETRY)
    assert fresh(store, claimed.id) == before


@pytest.mark.parametrize("final", ["reached", "cancelled"])
def test_a_late_status_callback_leaves_a_finished_callback_alone(store: Store, final: str) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    store.callbacks.dialed(claimed.id, sid(101), T0)
    if final == "reached":
        assert store.callbacks.reached(claimed.id, T0 + timedelta(seconds=20))
    else:
        assert store.callbacks.cancel(claimed.id, T0 + timedelta(seconds=20))
    before = fresh(store, claimed.id)
    ended = T0 + timedelta(minutes=5)
    store.callbacks.attempt_ended(claimed.id, sid(101), "unanswered", ended, ATTEMPTS, RETRY)
    store.callbacks.attempt_ended(claimed.id, sid(101), "completed", ended, 1, RETRY)
    assert fresh(store, claimed.id) == before
    assert before.status == ("done" if final == "reached" else "cancelled")
    assert store.callbacks.notes_due() == []


def test_a_status_callback_of_another_call_changes_nothing(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    store.callbacks.dialed(claimed.id, sid(101), T0)
    before = fresh(store, claimed.id)
    store.callbacks.attempt_ended(claimed.id, sid(999), "busy", T0, ATTEMPTS, RETRY)
    store.callbacks.attempt_ended(claimed.id, sid(999), "busy", T0, 1, RETRY)
    assert fresh(store, claimed.id) == before and before.status == "dialing"


def test_a_status_callback_for_an_unknown_callback_is_ignored(store: Store) -> None:
    store.callbacks.attempt_ended(12345, sid(1), "busy", T0, ATTEMPTS, RETRY)
    assert count(store) == 0


def test_a_placement_that_failed_on_the_first_attempt_is_retried(store: Store) -> None:
    """The dispatcher reports a call Twilio refused with no call sid ("")."""
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, HOLD)
    assert claimed is not None
    store.callbacks.attempt_ended(claimed.id, "", "failed", T0, ATTEMPTS, RETRY)
    record = fresh(store, claimed.id)
    assert (record.status, record.last_result, record.attempts) == ("pending", "failed", 1)


def test_a_placement_that_failed_on_a_later_attempt_is_retried(store: Store) -> None:
    """The claim forgets the previous attempt's call sid, so the dispatcher's "" matches."""
    book(store, 1)
    first = store.callbacks.claim("jp", T0, HOLD)
    assert first is not None
    store.callbacks.dialed(first.id, sid(101), T0)
    store.callbacks.attempt_ended(first.id, sid(101), "busy", T0, ATTEMPTS, RETRY)
    retry_at = T0 + timedelta(seconds=RETRY)
    second = store.callbacks.claim("jp", retry_at, HOLD)
    assert second is not None and second.attempts == 2
    store.callbacks.attempt_ended(second.id, "", "failed", retry_at, ATTEMPTS, RETRY)
    record = fresh(store, second.id)
    assert (record.status, record.last_result) == ("pending", "failed")
    assert record.next_attempt_at == retry_at + timedelta(seconds=RETRY)


def test_reached_and_cancel_only_change_open_callbacks(store: Store) -> None:
    book(store, 1)
    book(store, 2, number="+819087654321")
    one, two = booked(store, 1), booked(store, 2)
    assert not store.callbacks.reached(one.id, T0)  # pending: nobody was called yet
    assert store.callbacks.claim("jp", T0, timedelta(minutes=15)) == fresh(store, one.id)
    assert store.callbacks.joined_queue(one.id, sid(101), T0)  # the person pressed 1
    assert store.callbacks.joined_queue(
        one.id, sid(101), T0
    )  # the key webhook retried: still queued
    assert fresh(store, one.id).status == "queued"
    assert store.callbacks.reached(one.id, T0)  # an agent took them
    assert store.callbacks.reached(one.id, T0)  # the queue result retried: still done
    assert not store.callbacks.cancel(one.id, T0)
    assert fresh(store, one.id).status == "done" and fresh(store, one.id).last_result == "reached"
    assert store.callbacks.cancel(two.id, T0)
    assert not store.callbacks.cancel(two.id, T0)
    assert not store.callbacks.reached(two.id, T0)
    assert fresh(store, two.id).status == "cancelled"
    assert store.callbacks.open_callbacks() == []


# --- stale claims and old callbacks ------------------------------------------------------------


def test_release_stale_returns_claims_whose_hold_passed(store: Store) -> None:
    book(store, 1)
    book(store, 2, number="+819087654321", at=T0 + timedelta(minutes=10))
    first = store.callbacks.claim("jp", T0 + timedelta(minutes=10), HOLD)
    second = store.callbacks.claim("jp", T0 + timedelta(minutes=20), HOLD)
    assert first is not None and second is not None
    store.callbacks.dialed(first.id, sid(101), T0 + timedelta(minutes=10))
    # first's hold ends at +25 min, second's at +35 min
    at_hold = T0 + timedelta(minutes=25)
    assert store.callbacks.release_stale("jp", at_hold, ATTEMPTS, RETRY) == 0
    now = T0 + timedelta(minutes=26)
    assert store.callbacks.release_stale("kr", now, ATTEMPTS, RETRY) == 0  # another region's
    assert store.callbacks.release_stale("jp", now, ATTEMPTS, RETRY) == 1
    released = fresh(store, first.id)
    assert (released.status, released.last_result, released.attempts) == ("pending", "lost", 1)
    assert released.next_attempt_at == now + timedelta(seconds=RETRY)
    assert fresh(store, second.id).status == "dialing"
    assert store.callbacks.release_stale("jp", now, ATTEMPTS, RETRY) == 0
    # the last allowed attempt lost: expired, and the caller gets a note
    assert store.callbacks.release_stale("jp", T0 + timedelta(minutes=36), 1, RETRY) == 1
    gone = fresh(store, second.id)
    assert (gone.status, gone.note_due, gone.last_result) == ("expired", True, "lost")


def test_expire_old_expires_old_pending_callbacks_of_the_region(store: Store) -> None:
    book(store, 1, at=T0 - timedelta(hours=80))
    book(store, 2, number="+819087654321", at=T0 - timedelta(hours=75))
    book(store, 3, number="+819011112222", at=T0 - timedelta(hours=1))
    book(store, 4, number="+82101234567", region="kr", at=T0 - timedelta(hours=80))
    dialing = store.callbacks.claim("jp", T0, HOLD)  # the oldest: being dialed right now
    assert dialing is not None and dialing.call_sid == sid(1)
    before = T0 - timedelta(hours=72)
    assert store.callbacks.expire_old("jp", before, T0) == 1
    expired = booked(store, 2)
    assert (expired.status, expired.last_result, expired.note_due) == ("expired", "too-old", True)
    assert booked(store, 1).status == "dialing"
    assert booked(store, 3).status == "pending"
    assert booked(store, 4).status == "pending"
    assert store.callbacks.expire_old("jp", before, T0) == 0
    assert [c.call_sid for c in store.callbacks.notes_due()] == [sid(2)]


# --- several dispatchers -----------------------------------------------------------------------


@pytest.mark.slow
def test_dispatchers_claiming_at_once_take_each_callback_exactly_once(
    store: Store, replicas: list[Store]
) -> None:
    for n in range(20):
        book(store, n, number=f"+8190111122{n:02d}", at=T0 + timedelta(seconds=n))
    now = T0 + timedelta(minutes=1)
    barrier = threading.Barrier(len(replicas))

    def dispatcher(index: int) -> list[int]:
        claimed: list[int] = []
        barrier.wait()
        while (callback := replicas[index].callbacks.claim("jp", now, HOLD)) is not None:
            claimed.append(callback.id)
        return claimed

    with ThreadPoolExecutor(len(replicas)) as pool:
        per_thread = list(pool.map(dispatcher, range(len(replicas))))
    every = [callback_id for claimed in per_thread for callback_id in claimed]
    all_ids = sorted(booked(store, n).id for n in range(20))
    assert sorted(every) == all_ids  # each exactly once
    assert store.callbacks.claim("jp", now, HOLD) is None
    for callback_id in all_ids:
        record = fresh(store, callback_id)
        assert (record.status, record.attempts) == ("dialing", 1)


# --- the callback queue ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("queue_result", "status"),
    [("bridged", "done"), ("hangup", "cancelled"), ("leave", "pending"), (None, "pending")],
)
def test_a_callback_left_queued_is_settled_by_the_calls_end(
    store: Store, queue_result: str | None, status: str
) -> None:
    # The queue's own result webhook never arrived (lost, or failed to store): the call's
    # status callback settles the callback from what was recorded of the queue.
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, timedelta(minutes=15))
    assert claimed is not None
    store.callbacks.dialed(claimed.id, sid(101), T0)
    assert store.callbacks.joined_queue(claimed.id, sid(101), T0)
    ended = T0 + timedelta(minutes=5)
    store.callbacks.attempt_ended(
        claimed.id, sid(101), "unanswered", ended, ATTEMPTS, RETRY, queue_result=queue_result
    )
    assert fresh(store, claimed.id).status == status


def test_leaving_the_callback_queue_twice_gives_the_same_answer(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, timedelta(minutes=15))
    assert claimed is not None and store.callbacks.joined_queue(claimed.id, sid(101), T0)
    first = store.callbacks.left_queue(claimed.id, "leave", T0, ATTEMPTS, RETRY)
    again = store.callbacks.left_queue(claimed.id, "leave", T0, ATTEMPTS, RETRY)
    assert first == again == "pending"
    assert fresh(store, claimed.id).next_attempt_at == T0 + timedelta(seconds=RETRY)


def test_a_call_made_although_placing_it_timed_out_can_still_join_the_queue(store: Store) -> None:
    # The dispatcher never learnt the call's sid: the person pressed 1 anyway.
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, timedelta(minutes=15))
    assert claimed is not None and fresh(store, claimed.id).last_call_sid is None
    assert store.callbacks.joined_queue(claimed.id, sid(101), T0)
    assert fresh(store, claimed.id).last_call_sid == sid(101)


def test_a_retry_is_moved_out_of_closed_hours(store: Store) -> None:
    book(store, 1)
    claimed = store.callbacks.claim("jp", T0, timedelta(minutes=15))
    assert claimed is not None
    monday = T0 + timedelta(days=3)
    store.callbacks.attempt_ended(
        claimed.id, "", "busy", T0, ATTEMPTS, RETRY, due=lambda _moment: monday
    )
    assert fresh(store, claimed.id).next_attempt_at == monday


def test_bookings_from_many_numbers_at_once_keep_the_regions_hourly_limit(
    store: Store, replicas: list[Store]
) -> None:
    limits = Limits(per_number_per_day=5, per_hour=2)
    barrier = threading.Barrier(len(replicas))

    def attempt(index: int) -> Booking:
        barrier.wait()
        return book(replicas[index], 200 + index, number=f"+8190222233{index:02d}", limits=limits)

    with ThreadPoolExecutor(len(replicas)) as pool:
        results = list(pool.map(attempt, range(len(replicas))))
    assert sum(result.code is not None for result in results) == 2
    assert count(store) == 2
