"""Log lines as operators read them: text by default, JSON lines with the CallSid on demand;
numbers masked the same way in both. Captured from the real handler, formatter and filter."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from ivr.config.settings import Settings
from ivr.logs import TEXT_FORMAT, LogFormat, MaskNumbers, formatter, mask
from ivr.web.app import create_app
from tests.support.app_client import AppClient
from tests.support.docs import block
from tests.support.moments import instant

CHINA_CALL = {"CallSid": "CA" + "1" * 32, "From": "+8613812345678", "To": "+864001234567"}


@pytest.fixture
def captured() -> Iterator[dict[LogFormat, io.StringIO]]:
    """What the root logger writes in each format, through the service's masking filter."""
    streams: dict[LogFormat, io.StringIO] = {"text": io.StringIO(), "json": io.StringIO()}
    handlers = []
    for log_format, stream in streams.items():
        handler = logging.StreamHandler(stream)
        handler.setFormatter(formatter(log_format))
        handler.addFilter(MaskNumbers())
        handlers.append(handler)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


class ClockThatFailsWithANumber:
    """The first reading fails inside the webhook, quoting the caller's number."""

    def __init__(self) -> None:
        self.failed = False

    def now(self) -> datetime:
        if not self.failed:
            self.failed = True
            raise RuntimeError(f"no time for {CHINA_CALL['From']}")
        return instant("2026-03-02T10:00+08:00")


def test_text_is_the_default_and_keeps_its_format() -> None:
    assert Settings(_env_file=None).log_format == "text"
    assert TEXT_FORMAT == "%(asctime)s %(levelname)s %(name)s: %(message)s"


@pytest.mark.slow
def test_an_error_inside_a_webhook_is_one_json_line_with_its_call_sid_and_no_number(
    settings: Settings, captured: dict[LogFormat, io.StringIO]
) -> None:
    app = create_app(
        settings.model_copy(update={"calls_per_caller": 0}), clock=ClockThatFailsWithANumber()
    )
    client = AppClient(app)
    try:
        assert client.post("/voice/incoming", data=CHINA_CALL).status_code == 200
        assert client.get("/healthz").status_code == 200
        logging.getLogger("ivr").info("after the webhook, for %s", CHINA_CALL["From"])
    finally:
        client.close()
        app.state.services.store.close()

    lines = [json.loads(line) for line in captured["json"].getvalue().splitlines()]
    (failure,) = [line for line in lines if line["message"].startswith("webhook failed")]
    assert failure["call_sid"] == CHINA_CALL["CallSid"]
    assert (failure["level"], failure["logger"]) == ("ERROR", "ivr")
    assert "RuntimeError: no time for +86 ••• ••5678" in failure["exception"]
    assert datetime.fromisoformat(failure["time"]).utcoffset() is not None
    # Outside the webhook, no CallSid; the number masked as in text mode.
    (after,) = [line for line in lines if line["message"].startswith("after the webhook")]
    assert "call_sid" not in after
    assert after["message"] == mask(f"after the webhook, for {CHINA_CALL['From']}")
    assert after["message"] == "after the webhook, for +86 ••• ••5678"

    text = captured["text"].getvalue()
    assert "+8613812345678" not in text and "+8613812345678" not in captured["json"].getvalue()
    text_lines = [line for line in text.splitlines() if "after the webhook" in line]
    assert text_lines and text_lines[0].endswith(" INFO ivr: after the webhook, for +86 ••• ••5678")
    assert "call_sid" not in text and "{" not in text_lines[0]


def test_the_json_lines_the_docs_show(
    settings: Settings, captured: dict[LogFormat, io.StringIO]
) -> None:
    blocked = {**CHINA_CALL, "CallSid": "CA" + "b" * 32}
    app = create_app(settings.model_copy(update={"blocked_numbers": blocked["From"]}))
    client = AppClient(app)
    try:
        assert client.post("/voice/incoming", data=blocked).status_code == 200
    finally:
        client.close()
        app.state.services.store.close()
    # uvicorn's access line for the confirmation of a keyed reference, as uvicorn logs it
    confirm = "/voice/menu?n=confirm&r=cn&l=en-US&w=pending&d=202603021234"
    # Handed to the root's handlers as `ivr serve` routes uvicorn's access records (a server
    # started earlier in this process may have set uvicorn's loggers not to propagate).
    access = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:46426", "POST", confirm, "1.1", 200),
        None,
    )
    logging.getLogger().handle(access)

    written = [json.loads(line) for line in captured["json"].getvalue().splitlines()]
    shown = [json.loads(line) for line in block("json", '{"time": ').splitlines()]
    for line in (*written, *shown):
        assert datetime.fromisoformat(line.pop("time")).utcoffset() is not None
    assert [line for line in written if line in shown] == shown
