"""Logging for the service: phone numbers never reach a log line in full."""

from __future__ import annotations

import logging
import re

from ivr.numbers import masked

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


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr through the masking filter, unless logging is already set up (a host
    program, or a test runner, keeps its own)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskNumbers())
    logging.basicConfig(level=level, handlers=[handler])
