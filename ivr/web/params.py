"""Twilio's webhook parameters, validated: a malformed request is refused before any menu runs."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.datastructures import FormData

from ivr.web.signature import WebhookForm

_SID = r"^CA[0-9a-fA-F]{32}$"


class CallParams(BaseModel):
    """Sent with every voice webhook."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    call_sid: str = Field(alias="CallSid", pattern=_SID)
    from_: str = Field("", alias="From", max_length=256)
    to: str = Field("", alias="To", max_length=256)
    from_country: str = Field("", alias="FromCountry", max_length=8)
    call_status: str = Field("", alias="CallStatus", max_length=32)
    # STIR/SHAKEN verdict on the caller ID (e.g. TN-Validation-Passed-A), when the carrier sent one.
    stir_verstat: str = Field("", alias="StirVerstat", max_length=64)


class GatherParams(CallParams):
    digits: str = Field("", alias="Digits", pattern=r"^[0-9*#]{0,64}$")
    speech: str = Field("", alias="SpeechResult", max_length=2000)


class QueueWaitParams(CallParams):
    position: int = Field(alias="QueuePosition", ge=0, le=100_000)
    waited: int = Field(0, alias="QueueTime", ge=0, le=10**7)
    size: int = Field(0, alias="CurrentQueueSize", ge=0, le=100_000)


class QueueResultParams(CallParams):
    result: str = Field(alias="QueueResult", pattern=r"^[a-z-]{1,32}$")  # fits its column
    waited: int = Field(0, alias="QueueTime", ge=0, le=10**7)


class StatusParams(CallParams):
    call_status: str = Field(
        alias="CallStatus",
        pattern=r"^(queued|initiated|ringing|in-progress|completed|busy|failed|no-answer|canceled)$",
    )
    duration: int | None = Field(None, alias="CallDuration", ge=0, le=10**7)


class RecordingParams(CallParams):
    """The <Record> action: Twilio keeps the audio and tells us where."""

    recording_sid: str = Field(alias="RecordingSid", pattern=r"^RE[0-9a-fA-F]{32}$")
    recording_url: str = Field(alias="RecordingUrl", pattern=r"^https?://", max_length=300)
    duration: int = Field(0, alias="RecordingDuration", ge=0, le=10**5)
    # The key that ended it, "hangup", or nothing: the silence timeout ended it.
    digits: str = Field("", alias="Digits", pattern=r"^([0-9*#]{0,64}|hangup)$")


P = TypeVar("P", bound=CallParams)


class BadRequest(ValueError):
    """A webhook whose parameters are missing or malformed; becomes a 400."""


def parse(model: type[P], form: FormData) -> P:
    given = form.last if isinstance(form, WebhookForm) else dict(form)
    try:
        return model.model_validate(given)
    except ValidationError as exc:
        fields = sorted({str(error["loc"][0]) for error in exc.errors() if error["loc"]})
        raise BadRequest("missing or invalid " + ", ".join(fields)) from None
