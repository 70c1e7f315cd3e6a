"""How a Twilio webhook is registered, and what its handler is handed.

A handler declares `Request`, `ServicesDep`, `CheckedForm` (the form after content type, size
and signature checks: 4xx otherwise) and, when it has work for after the answer,
`BackgroundTasks`. The route hands them over itself, so FastAPI solves no dependencies per
request (that machinery cost more than the rest of the framework's work on a webhook), and
wraps every handler in the two things no handler repeats: the webhook's time for the database
(ivr.store.database) and the error boundary (ivr.web.boundary).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response
from starlette.datastructures import FormData

from ivr.logs import bind_call
from ivr.store.database import time_allowed
from ivr.web import boundary, metrics
from ivr.web.params import BadRequest, CallParams, parse
from ivr.web.services import Services
from ivr.web.signature import FORM, read_form

P = TypeVar("P", bound=CallParams)
Handler = TypeVar("Handler", bound=Callable[..., Any])


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hand-off per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def checked_form(request: Request, services: ServicesDep) -> FormData:
    """The webhook's form, after content type, size and signature checks (4xx otherwise)."""
    form = await read_form(request, services.settings)
    bind_call(form.get("CallSid"))  # from here on, this webhook's log lines name its call
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def parameters(model: type[P], form: FormData) -> P:
    """The webhook's parameters as `model`; a 400 naming the fields that are missing or bad."""
    try:
        return parse(model, form)
    except BadRequest as exc:
        raise HTTPException(400, str(exc)) from None


def webhook(
    router: APIRouter, path: str, model: type[CallParams], status_code: int = 200
) -> Callable[[Handler], Handler]:
    """Register a Twilio webhook; OpenAPI documents its form body and its answer."""
    body = {"required": True, "content": {FORM: {"schema": model.model_json_schema(by_alias=True)}}}
    answer: dict[str, Any] = {"content": {"text/xml": {}}} if status_code == 200 else {}

    def register(handler: Handler) -> Handler:
        router.add_api_route(
            path,
            _endpoint(handler, speaks=status_code == 200),
            methods=["POST"],
            response_class=Response,
            status_code=status_code,
            responses={status_code: answer, 400: {}, 403: {}, 413: {}, 415: {}},
            openapi_extra={"requestBody": body},
            route_class_override=metrics.WebhookRoute,  # timed, and logs scoped to the call
        )
        return handler

    return register


def _endpoint(handler: Handler, *, speaks: bool) -> Callable[[Request], Awaitable[Response]]:
    """The route's endpoint for `handler`; `speaks`: it answers TwiML (else a status code)."""
    hints = get_type_hints(handler, include_extras=True)
    supplies = {
        Request: "request",
        ServicesDep: "services",
        CheckedForm: "form",
        BackgroundTasks: "background",
    }
    wanted: dict[str, str] = {}
    for name in inspect.signature(handler).parameters:
        supply = next((what for kind, what in supplies.items() if hints.get(name) == kind), None)
        if supply is None:
            raise TypeError(f"webhook {handler.__name__}: nothing supplies parameter {name!r}")
        wanted[name] = supply
    runs_later = "background" in wanted.values()

    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        form = await checked_form(request, services)
        values: dict[str, Any] = {"request": request, "services": services, "form": form}
        if runs_later:
            values["background"] = BackgroundTasks()
        try:
            with time_allowed(services.settings.database_wait_seconds):
                response: Response = await handler(
                    **{name: values[what] for name, what in wanted.items()}
                )
        except HTTPException:
            raise  # a bad request: 4xx, no TwiML
        except Exception as failure:
            return await boundary.answer_failure(request, services, form, failure, speaks=speaks)
        background = values.get("background")
        if background is not None and background.tasks and response.background is None:
            response.background = background  # run once the answer is sent, as FastAPI does
        return response

    endpoint.__name__ = endpoint.__qualname__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
