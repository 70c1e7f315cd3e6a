"""Log lines never carry a phone number in full: the MaskNumbers filter on the handler."""

from __future__ import annotations

import io
import logging
import re
import uuid
from collections.abc import Iterator

import pytest

from ivr.logs import MaskNumbers
from tests.engine.test_numbers import MASKED

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
NUMBERS = ["+819012345678", "+8613812345678", "+12025550188", "+442079460123", "+35312345678"]


class Logged:
    """A logger whose handler (with the filter) writes into a string."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.handler.addFilter(MaskNumbers())
        self.logger = logging.getLogger(f"test.logs.{uuid.uuid4().hex}")
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        self.logger.addHandler(self.handler)

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[str]:
        prefix = f"{self.logger.name}: "
        return [line.split(prefix, 1)[1] for line in self.text.splitlines() if prefix in line]

    def close(self) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


@pytest.fixture
def logged() -> Iterator[Logged]:
    logged = Logged()
    yield logged
    logged.close()


def assert_no_full_number(text: str) -> None:
    assert E164.findall(text) == []
    for number in NUMBERS:
        assert number not in text and number[1:] not in text


@pytest.mark.parametrize(("number", "shown"), MASKED)
def test_a_number_in_the_message_is_masked(logged: Logged, number: str, shown: str) -> None:
    logged.logger.info(f"calling back {number} now")
    assert logged.lines() == [f"calling back {shown} now"]
    assert_no_full_number(logged.text)


def test_a_number_in_percent_args_is_masked(logged: Logged) -> None:
    logged.logger.warning("callback %s to %s failed: %s", 17, "+819012345678", "busy")
    assert logged.lines() == ["callback 17 to +81 ••• ••5678 failed: busy"]


def test_numbers_in_mapping_args_and_several_per_line_are_masked(logged: Logged) -> None:
    logged.logger.info(
        "from %(caller)s to %(line)s", {"caller": "+8613812345678", "line": "+864001234567"}
    )
    logged.logger.info("numbers: +12025550188,+442079460123;+35312345678")
    assert logged.lines() == [
        "from +86 ••• ••5678 to +86 ••• ••4567",
        "numbers: +1 ••• ••0188,+44 ••• ••0123;+353 ••• ••5678",
    ]
    assert_no_full_number(logged.text)


def test_a_number_inside_an_object_argument_is_masked(logged: Logged) -> None:
    class Caller:
        def __str__(self) -> str:
            return "Caller(+819012345678)"

    logged.logger.error("bad caller %s", Caller())
    assert logged.lines() == ["bad caller Caller(+81 ••• ••5678)"]


def test_every_level_is_masked(logged: Logged) -> None:
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        logged.logger.log(level, "caller %s", "+819012345678")
    assert logged.lines() == ["caller +81 ••• ••5678"] * 5
    assert_no_full_number(logged.text)


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("order %s of %d items costs %.2f%%", ("abc", 3, 12.5)),
        ("callback code 424242 for CallSid %s", ("CA" + "1" * 32,)),
        ("a short +12345 and a plus sign + alone", ()),
        ("phone number withheld: %s", ("anonymous",)),
        ("national digits 09012345678 have no +", ()),
        ("100%% done, {braces} and %(not)s formatting", ()),
        ("unicode: 東京 — ü ••• %s", ("ok",)),
    ],
)
def test_other_text_is_left_untouched(
    logged: Logged, message: str, args: tuple[object, ...]
) -> None:
    logged.logger.info(message, *args)
    assert logged.lines() == [message % args if args else message]


def test_a_record_without_a_number_keeps_its_args(logged: Logged) -> None:
    """Other handlers and formatters still see the original msg and args."""
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keep = Keep()
    keep.addFilter(MaskNumbers())
    logged.logger.addHandler(keep)
    try:
        logged.logger.info("queue %s has %d callers", "jp-en-US", 3)
        logged.logger.info("caller %s", "+819012345678")
    finally:
        logged.logger.removeHandler(keep)
    assert (seen[0].msg, seen[0].args) == ("queue %s has %d callers", ("jp-en-US", 3))
    assert seen[1].getMessage() == "caller +81 ••• ••5678"


def test_keyed_digits_in_a_webhook_url_of_an_access_log_line_are_hidden(logged: Logged) -> None:
    """uvicorn's access log line: the booking link carries the number to call back (`d`)."""
    access = '%s - "%s %s HTTP/%s" %d'
    booking = "/voice/callback/book?r=jp&l=en-US&w=main&d=819012345678"
    reference = "/voice/menu?d=12345678&n=ref_ok&r=cn&l=zh-CN"
    logged.logger.info(access, "127.0.0.1:51000", "POST", booking, "1.1", 200)
    logged.logger.info(access, "127.0.0.1:51000", "POST", reference, "1.1", 200)
    logged.logger.info(access, "127.0.0.1:51000", "POST", "/x?id=819012345678&d=12", "1.1", 200)
    assert logged.lines() == [
        '127.0.0.1:51000 - "POST /voice/callback/book?r=jp&l=en-US&w=main&d=••• HTTP/1.1" 200',
        '127.0.0.1:51000 - "POST /voice/menu?d=•••&n=ref_ok&r=cn&l=zh-CN HTTP/1.1" 200',
        '127.0.0.1:51000 - "POST /x?id=819012345678&d=12 HTTP/1.1" 200',  # not keyed digits
    ]


def test_the_filter_masks_a_line_once_for_two_handlers(logged: Logged) -> None:
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(MaskNumbers())
    logged.logger.addHandler(handler)
    try:
        logged.logger.info("caller %s", "+819012345678")
    finally:
        logged.logger.removeHandler(handler)
        handler.close()
    assert second.getvalue() == "caller +81 ••• ••5678\n"
    assert logged.lines() == ["caller +81 ••• ••5678"]


def test_a_number_in_an_exception_logged_with_its_traceback_is_masked(logged: Logged) -> None:
    try:
        raise ValueError("could not insert ('+819012345678', 'jp')")
    except ValueError:
        logged.logger.exception("could not keep a record")
    assert "could not keep a record" in logged.text
    assert_no_full_number(logged.text)
