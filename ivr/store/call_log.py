"""The records a webhook keeps of its call, one typed method per kind of write.

Each returns once the record is committed or fsynced to the spool (what "acknowledged" means:
docs/operations.md, "Records, outages and reports"), and says whether it was: False when
neither took it, logged here with the CallSid and never heard by the caller. Only the
voicemail and the status callback answer differently for a record that was not kept.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ivr.store.records import VOICEMAIL, Records

log = logging.getLogger("ivr.records")


class CallLog:
    def __init__(self, records: Records) -> None:
        self.records = records

    async def record_step(
        self,
        *,
        call_sid: str,
        caller: str,
        region: str,
        language: str | None,
        step: str,
        choice: str,
        at: datetime,
        stir_verstat: str | None = None,
    ) -> bool:
        """A menu answer on the call's path (`step` identifies the delivery: a retry adds
        nothing)."""
        return await self._keep(
            "record_step",
            call_sid=call_sid,
            caller=caller,
            region=region,
            language=language,
            step=step,
            choice=choice,
            at=at,
            stir_verstat=stir_verstat,
        )

    async def remember_queue_entry(
        self,
        *,
        call_sid: str,
        caller: str,
        queue: str,
        region: str,
        language: str,
        reason: str,
        reference: str | None,
        at: datetime,
    ) -> bool:
        """The caller joined `queue`, for the agent line's order and the reports."""
        return await self._keep(
            "remember_queue_entry",
            call_sid=call_sid,
            caller=caller,
            queue=queue,
            region=region,
            language=language,
            reason=reason,
            reference=reference,
            at=at,
        )

    async def record_queue_result(
        self, *, call_sid: str, result: str, queue_time: int | None, at: datetime
    ) -> bool:
        """How the caller left the queue (Twilio's QueueResult) after `queue_time` seconds."""
        return await self._keep(
            "record_queue_result", call_sid=call_sid, result=result, queue_time=queue_time, at=at
        )

    async def record_outcome(self, *, call_sid: str, outcome: str, at: datetime) -> bool:
        """What the call came to (the most telling outcome wins, in any order)."""
        return await self._keep("record_outcome", call_sid=call_sid, outcome=outcome, at=at)

    async def record_status(
        self, *, call_sid: str, caller: str, status: str, duration: int | None, at: datetime
    ) -> bool:
        """The call's final status from its status callback."""
        return await self._keep(
            "record_status",
            call_sid=call_sid,
            caller=caller,
            status=status,
            duration=duration,
            at=at,
        )

    async def record_in_queue(self, *, call_sid: str, since: datetime, at: datetime) -> bool:
        """Twilio has the caller in their queue since `since`: agents may take them now."""
        return await self._keep("record_in_queue", call_sid=call_sid, since=since, at=at)

    async def record_disposition(
        self, *, call_sid: str, disposition: str, agent: str, at: datetime
    ) -> bool:
        """The agent's wrap-up code for the call they took, or "skipped"."""
        return await self._keep(
            "record_disposition", call_sid=call_sid, disposition=disposition, agent=agent, at=at
        )

    async def record_survey(self, *, call_sid: str, at: datetime, rating: int | None) -> bool:
        """The survey asked after the agent hung up (`rating` None), or its answer."""
        return await self._keep("record_survey", call_sid=call_sid, at=at, rating=rating)

    async def record_comment(
        self, *, call_sid: str, recording_sid: str, recording_url: str, duration: int, at: datetime
    ) -> bool:
        """The caller's recorded comment after the survey."""
        return await self._keep(
            "record_comment",
            call_sid=call_sid,
            recording_sid=recording_sid,
            recording_url=recording_url,
            duration=duration,
            at=at,
        )

    async def save_voicemail(
        self,
        *,
        recording_sid: str,
        call_sid: str,
        recording_url: str,
        duration: int,
        caller: str,
        region: str,
        language: str,
        reason: str | None,
        at: datetime,
    ) -> bool:
        """A voice message: the ticket the support team is mailed."""
        return await self._keep(
            VOICEMAIL,
            recording_sid=recording_sid,
            call_sid=call_sid,
            recording_url=recording_url,
            duration=duration,
            caller=caller,
            region=region,
            language=language,
            reason=reason,
            at=at,
        )

    async def _keep(self, op: str, **args: Any) -> bool:
        try:
            await self.records.write_soon(op, **args)
        except Exception:
            log.exception("could not keep %s for CallSid %s", op, args.get("call_sid"))
            return False
        return True
