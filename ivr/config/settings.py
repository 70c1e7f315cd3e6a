"""Every setting of the service, read once from the environment (all optional locally)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ivr.config.screening import Screening


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IVR_", extra="ignore", frozen=True)

    twilio_auth_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("TWILIO_AUTH_TOKEN"),
        description="Signs Twilio's webhooks; unset = local mode: unsigned webhooks are "
        "answered on loopback addresses only (403 elsewhere, see allow_unsigned).",
    )
    allow_unsigned: bool = Field(
        False,
        description="Without TWILIO_AUTH_TOKEN, answer unsigned webhooks on every address, not "
        "only loopback (`ivr serve --insecure-unsigned`): anyone who reaches the service can "
        "then drive calls. A warning at every start says so.",
    )
    public_url: str | None = Field(
        None,
        description="External base URL Twilio calls (scheme, host, optional path prefix), "
        "used to rebuild the exact signed URL behind a proxy.",
    )
    company_name: str = Field(
        "", max_length=60, description="Spoken in the greeting; empty = generic."
    )
    regions: Path = Path("regions.toml")
    prompts: Path = Path("prompts")
    flows: Path = Field(
        Path("flows.toml"),
        description="The menus: questions, keys and where they lead (docs/flows.md).",
    )
    reload: Literal["signal", "watch"] = Field(
        "signal",
        description="signal: regions, prompts and flows are reloaded on SIGHUP; watch: also "
        "when their files change (checked every 2 s).",
    )
    database_url: str = "sqlite:///ivr.sqlite3"
    reference_min_digits: int = Field(6, ge=1, le=32)
    reference_max_digits: int = Field(20, ge=1, le=32)
    hold_music_url: str | None = Field(
        None,
        description="Audio (WAV or MP3) played between queue announcements instead of the "
        "service's own clip; give its length in IVR_HOLD_MUSIC_SECONDS.",
    )
    hold_music_seconds: int | None = Field(
        None, ge=5, le=600, description="The length of the clip at IVR_HOLD_MUSIC_URL."
    )
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="Larger webhook bodies get 413.")
    spool_dir: Path = Field(
        Path("ivr-spool"),
        description="Records the database could not take wait here, and are replayed.",
    )
    database_wait_seconds: float = Field(
        1.0,
        ge=0.1,
        le=10,
        description="What one webhook waits for the database, all its waits together, before "
        "it answers without it (records then go to the spool).",
    )
    twilio_account_sid: str | None = Field(
        None,
        validation_alias=AliasChoices("TWILIO_ACCOUNT_SID"),
        pattern=r"^AC[0-9a-fA-F]{32}$",
        description="For Twilio's REST API: placing callbacks, texts, deleting recordings.",
    )
    twilio_api_url: str | None = Field(
        None, description="Twilio's REST API base URL; set only to use another (an emulator)."
    )
    smtp_url: str | None = Field(
        None,
        description="smtp://[user:password@]host[:port] (smtps:// for TLS) for voicemail mail.",
    )
    mail_from: str = Field("ivr@localhost", description="Sender of voicemail mail.")
    blocked_numbers: str = Field(
        "",
        description="Comma-separated E.164 numbers or prefixes ending in * refused with <Reject>.",
    )
    calls_per_caller: int = Field(
        10, ge=0, le=10_000, description="Calls one number may make per window; 0: no limit."
    )
    calls_window_seconds: int = Field(600, ge=10, le=86_400)
    retention_days: int | None = Field(
        None, ge=1, le=3650, description="Personal data older than this is purged daily."
    )
    agent_wrap_up_seconds: int = Field(
        30, ge=0, le=600, description="Agents' wrap-up after a call (a region's wrap_up wins)."
    )
    agent_lock_minutes: int = Field(
        15, ge=1, le=1440, description="An agent is locked this long after 3 wrong PINs."
    )
    agent_pin_budget: int = Field(
        20,
        ge=3,
        le=10_000,
        description="Failed PINs the whole agent line accepts per hour (UTC) before it takes no "
        "PIN at all until the hour ends; the IvrAgentPinGuessing alert assumes 20.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="/metrics answers only `Authorization: Bearer <this>`; unset: open on "
        "loopback addresses only, 403 elsewhere.",
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text: readable lines; json: one object per line, with CallSid."
    )
    session_secret: SecretStr | None = Field(
        None,
        description="Signs the wallboard's session cookies (32 characters or more); unset: "
        "the wallboard is off.",
    )
    dashboard_refresh_seconds: float = Field(
        2.0, ge=0.1, le=60, description="Seconds between two snapshots sent to the wallboard."
    )

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
        ):
            raise ValueError(
                "IVR_PUBLIC_URL must be like https://ivr.example.com or https://host/prefix"
            )
        return value.rstrip("/")

    @field_validator("twilio_account_sid", "metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("blocked_numbers")
    @classmethod
    def _blocklist(cls, value: str) -> str:
        for entry in (part.strip() for part in value.split(",") if part.strip()):
            digits = entry.removeprefix("+").removesuffix("*")
            if not entry.startswith("+") or not digits.isascii() or not digits.isdigit():
                raise ValueError(f"{entry!r}: use +E.164 numbers or prefixes like +88216*")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        if value and urlsplit(value).scheme not in ("smtp", "smtps"):
            raise ValueError("IVR_SMTP_URL must look like smtp://host:25 or smtps://user:pw@host")
        return value or None

    @field_validator("session_secret", mode="before")
    @classmethod
    def _long_secret(cls, value: object) -> object:
        # A short or guessable secret lets anyone forge a session: refuse it outright.
        if value is None or value == "":
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if len(text.strip()) < 32:
            raise ValueError(
                "IVR_SESSION_SECRET must be at least 32 characters; make one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @field_validator("hold_music_url")
    @classmethod
    def _https_audio(cls, value: str | None) -> str | None:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("IVR_HOLD_MUSIC_URL must be an absolute http(s) URL")
        return value or None

    @model_validator(mode="after")
    def _hold_music_length(self) -> Settings:
        if self.hold_music_url and self.hold_music_seconds is None:
            raise ValueError(
                "IVR_HOLD_MUSIC_URL needs IVR_HOLD_MUSIC_SECONDS, the clip's length, so that "
                "queue announcements keep their cadence"
            )
        return self

    @model_validator(mode="after")
    def _digit_range(self) -> Settings:
        if self.reference_min_digits > self.reference_max_digits:
            raise ValueError("IVR_REFERENCE_MIN_DIGITS is larger than IVR_REFERENCE_MAX_DIGITS")
        return self

    @property
    def path_prefix(self) -> str:
        """The path part of the public URL ("" or "/ivr"), put in front of every link we send."""
        return urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of `field` ("TWILIO_AUTH_TOKEN", "IVR_SPOOL_DIR"); errors
        name a field by its alias when it has one."""
        for name, info in cls.model_fields.items():
            alias = info.validation_alias
            if isinstance(alias, AliasChoices) and field in (name, *map(str, alias.choices)):
                return str(alias.choices[0])
        return "IVR_" + field.upper()

    @property
    def screening(self) -> Screening:
        blocked = tuple(part.strip() for part in self.blocked_numbers.split(",") if part.strip())
        return Screening(blocked, self.calls_per_caller, self.calls_window_seconds)

    @property
    def session_key(self) -> bytes | None:
        """The wallboard's cookie-signing secret, or None when the wallboard is off."""
        return self.session_secret.get_secret_value().encode() if self.session_secret else None

    @property
    def auth_token(self) -> str | None:
        return self.twilio_auth_token.get_secret_value() if self.twilio_auth_token else None
