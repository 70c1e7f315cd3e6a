"""The webhooks of the survey after the agent hung up: the caller's rating (or a wish to
comment), and the recorded comment. Asked from the queue's result (ivr.web.routes.queue).

Like the queue's webhooks, the survey's carry the caller's place in our URL, and `cb` on a
callback's leg (a call we placed: the person is the callee).
"""

from __future__ import annotations

from fastapi import Request, Response

from ivr.engine import survey, ways
from ivr.engine.steps import SURVEY, SURVEY_COMMENT
from ivr.web import metrics
from ivr.web.params import GatherParams, RecordingParams
from ivr.web.routes.queue import callback_marks, waiting_call
from ivr.web.webhooks import CheckedForm, ServicesDep, Webhooks, parameters

hooks = Webhooks()


@hooks.post(SURVEY, GatherParams)
async def survey_key(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The caller's key at the survey: a rating from 1 to 5, 9 for a comment, or silence."""
    params = parameters(GatherParams, form)
    _, callback, ctx = await waiting_call(request, services, params)
    state = survey.parse_survey(request.query_params, callback_marks(callback))
    rating = survey.rating(state, params.digits)
    if rating is not None:
        await services.calls.record_survey(call_sid=params.call_sid, at=ctx.now, rating=rating)
        metrics.survey_event(services.config.regions, ctx.region.id, str(rating))
    return services.twiml(survey.answer(ctx, state, params.digits))


@hooks.post(SURVEY_COMMENT, RecordingParams)
async def survey_comment(request: Request, services: ServicesDep, form: CheckedForm) -> Response:
    """The <Record> action of the survey: the caller's comment, kept with the call."""
    params = parameters(RecordingParams, form)
    place, _, ctx = await waiting_call(request, services, params)
    spoken = ways.message_seconds(params.duration, params.digits)
    # Even a silent recording is kept with the call: the retention purge finds its recording
    # at Twilio through it.
    kept = await services.calls.record_comment(
        call_sid=params.call_sid,
        recording_sid=params.recording_sid,
        recording_url=params.recording_url,
        duration=spoken,
        at=ctx.now,
    )
    said = kept and spoken >= ways.MIN_MESSAGE_SECONDS
    if said:
        metrics.survey_event(services.config.regions, ctx.region.id, "comment")
    return services.twiml(survey.comment_ended(ctx, place, said))
