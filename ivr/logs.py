"""Logging for the service: phone numbers never reach a log line in full.

Two formats (IVR_LOG_FORMAT): `text`, one readable line per record, and `json`, one JSON object
per line (time, level, logger, message) with the call's CallSid on every line logged while
one of its webhooks is answered.
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from ivr.engine.numbers import masked

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The CallSid of the webhook being answered; set once its signed form is read.
CALL_SID: ContextVar[str | None] = ContextVar("ivr_call_sid", default=None)
_SID = re.compile(r"CA[0-9a-fA-F]{32}")

# E.164 numbers (+ and 7 to 15 digits) anywhere in a message or its arguments.
_NUMBER = re.compile(r"\+[1-9][0-9]{6,14}")
# Digits a caller keyed, carried in our webhook URLs (`d=`: a number to call back, a
# transaction reference): they show up in access logs.
_KEYED = re.compile(r"([?&]d=)[0-9]{4,}")


class MaskNumbers(logging.Filter):
    """Rewrites each record's message with every phone number masked (+81 ••• ••5678) and
    keyed digits in URLs hidden."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked_message = mask(message)
        if masked_message != message:
            record.msg, record.args = masked_message, None
        # A database error quotes its parameters, the caller's number among them.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def mask(text: str) -> str:
    masked_text = _NUMBER.sub(lambda match: masked(match.group()), text)
    return _KEYED.sub(r"\1•••", masked_text)


def bind_call(call_sid: object) -> None:
    """Log lines from here to the end of this webhook carry `call_sid` (a well-formed one)."""
    if isinstance(call_sid, str) and _SID.fullmatch(call_sid):
        CALL_SID.set(call_sid)


class JsonLines(logging.Formatter):
    """One JSON object per record; the message and traceback as masked by MaskNumbers."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        call_sid = CALL_SID.get()
        if call_sid is not None:
            entry["call_sid"] = call_sid
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def formatter(log_format: LogFormat) -> logging.Formatter:
    return JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(level: int = logging.INFO, log_format: LogFormat = "text") -> None:
    """Log to stderr through the masking filter, unless logging is already set up (a host
    program, or a test runner, keeps its own)."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    handler.addFilter(MaskNumbers())
    logging.basicConfig(level=level, handlers=[handler])


def server_logging(log_format: LogFormat) -> dict[str, Any]:
    """uvicorn's `log_config`: the same handler in every worker process. Workers are fresh
    interpreters that do not inherit the parent's handlers, so without it their lines would
    go out unmasked."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"mask": {"()": "ivr.logs.MaskNumbers"}},
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "ivr.logs.JsonLines"},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["mask"],
            }
        },
        "root": {"level": "INFO", "handlers": ["stderr"]},
    }
