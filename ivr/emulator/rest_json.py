"""The REST API's JSON: resources shaped like Twilio's (snake_case keys, RFC 2822 dates, string
durations), list pages with the paging keys the twilio client follows, and Twilio's error body."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

from ivr.emulator.call import Call
from ivr.emulator.exchange import Message
from ivr.emulator.outbound import OutboundRequest
from ivr.emulator.params import API_VERSION
from ivr.emulator.queues import Queue

Json = dict[str, Any]
ERRORS_PAGE = "https://www.twilio.com/docs/errors/"


def account_path(account_sid: str) -> str:
    return f"/{API_VERSION}/Accounts/{account_sid}"


def rfc2822(instant: datetime | None) -> str | None:
    """Twilio's date format: `Sun, 01 Mar 2026 03:00:00 +0000`."""
    return None if instant is None else format_datetime(instant)


def error_json(status: int, code: int, message: str) -> Json:
    return {"code": code, "message": message, "more_info": f"{ERRORS_PAGE}{code}", "status": status}


def call_json(call: Call | OutboundRequest, account_sid: str) -> Json:
    """A call: one still queued (an `OutboundRequest`) or one on the switch."""
    uri = f"{account_path(account_sid)}/Calls/{call.sid}"
    common: Json = {
        "sid": call.sid,
        "account_sid": account_sid,
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from_,
        "from_formatted": call.from_,
        "api_version": API_VERSION,
        "answered_by": None,
        "annotation": None,
        "caller_name": None,
        "forwarded_from": None,
        "group_sid": None,
        "parent_call_sid": None,
        "phone_number_sid": None,
        "price": None,
        "price_unit": "USD",
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{uri}.json",
        "subresource_uris": {
            "recordings": f"{uri}/Recordings.json",
            "notifications": f"{uri}/Notifications.json",
            "events": f"{uri}/Events.json",
        },
    }
    if isinstance(call, OutboundRequest):
        created = rfc2822(call.created_at)
        return {
            **common,
            "status": "canceled" if call.canceled else "queued",
            "direction": "outbound-api",
            "date_created": created,
            "date_updated": created,
            "start_time": None,
            "end_time": None,
            "duration": None,
        }
    latest = max(t for t in (call.started_at, call.answered_at, call.ended_at) if t is not None)
    talked = None
    if call.answered_at is not None and call.ended_at is not None:
        talked = str(round((call.ended_at - call.answered_at).total_seconds()))
    return {
        **common,
        "status": call.status,
        "direction": call.direction,
        "date_created": rfc2822(call.started_at),
        "date_updated": rfc2822(latest),
        "start_time": rfc2822(call.started_at),
        "end_time": rfc2822(call.ended_at),
        "duration": talked,  # Twilio: empty for busy, failed, unanswered or ongoing calls
    }


def queue_json(queue: Queue, account_sid: str, now: datetime) -> Json:
    uri = f"{account_path(account_sid)}/Queues/{queue.sid}"
    return {
        "sid": queue.sid,
        "account_sid": account_sid,
        "friendly_name": queue.name,
        "current_size": queue.size,
        "max_size": queue.max_size,
        "average_wait_time": queue.average_wait(now),
        "date_created": rfc2822(queue.created_at),
        "date_updated": rfc2822(queue.created_at),
        "uri": f"{uri}.json",
        "subresource_uris": {"members": f"{uri}/Members.json"},
    }


def message_json(message: Message, account_sid: str) -> Json:
    uri = f"{account_path(account_sid)}/Messages/{message.sid}"
    sent = rfc2822(message.sent_at)
    return {
        "sid": message.sid,
        "account_sid": account_sid,
        "to": message.to,
        "from": message.from_,
        "body": message.body,
        "status": "queued",  # what Twilio answers a create with
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "date_created": sent,
        "date_updated": sent,
        "date_sent": None,
        "error_code": None,
        "error_message": None,
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "USD",
        "uri": f"{uri}.json",
        "subresource_uris": {"media": f"{uri}/Media.json"},
    }


def page_json(key: str, items: list[Json], path: str, page: int, page_size: int) -> Json:
    """Page `page` of `items` under `key`, with the paging keys of Twilio's 2010 API.

    The twilio client finds the records as the one key that is not a paging key, and follows
    `next_page_uri` (relative to the API's base URL) until it is null.
    """

    def uri(number: int) -> str:
        return f"{path}?{urlencode({'PageSize': page_size, 'Page': number})}"

    start = page * page_size
    records = items[start : start + page_size]
    more = start + page_size < len(items)
    return {
        key: records,
        "page": page,
        "page_size": page_size,
        "start": start,
        "end": start + max(len(records) - 1, 0),
        "uri": uri(page),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if more else None,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
    }
