"""Twilio's webhooks: a table of `POST /voice/...` routes, served ahead of FastAPI's router.

A handler declares `Request`, `ServicesDep`, `CheckedForm` (the form after content type, size
and signature checks: 4xx otherwise) and, when it has work for after the answer,
`BackgroundTasks`; its route hands them over. A webhook's request goes from uvicorn straight
to its handler (`Service.__call__`): FastAPI's middleware, router and dependency solving cost
more per webhook than the rest of the framework's work and gave it nothing it uses (bench/).
Every other route (readiness, metrics, the wallboard, `/docs`) stays a FastAPI route.

Around every handler, the things no handler repeats: the webhook's time for the database
(ivr.store.database), the error boundary (ivr.web.boundary), its latency and status code in
the metrics, and log lines scoped to its call. OpenAPI describes the webhooks from the same
table (`openapi_paths`); docs/webhooks.openapi.json keeps that document in the repository.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, get_type_hints

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.datastructures import FormData
from starlette.types import Receive, Scope, Send

from ivr.logs import bind_call
from ivr.store.database import time_allowed
from ivr.web import boundary, metrics
from ivr.web.params import BadRequest, CallParams, parse
from ivr.web.services import Services
from ivr.web.signature import FORM, read_form

P = TypeVar("P", bound=CallParams)
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Response]])
# What a webhook may answer besides its own status code: the refusals of ivr.web.signature.
REFUSALS = {
    "400": "malformed form body",
    "403": "missing or invalid X-Twilio-Signature",
    "413": "request body too large",
    "415": f"not {FORM}",
}


async def get_services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the thread pool, a hand-off per request.
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def checked_form(request: Request, services: Services) -> FormData:
    """The webhook's form, after content type, size and signature checks (4xx otherwise)."""
    form = await read_form(request, services.settings)
    bind_call(form.get("CallSid"))  # from here on, this webhook's log lines name its call
    return form


CheckedForm = Annotated[FormData, "the webhook's checked form"]
# What a handler's parameters may be, by annotation, and the name its route supplies them by.
_SUPPLIES = {
    Request: "request",
    ServicesDep: "services",
    CheckedForm: "form",
    BackgroundTasks: "background",
}


def parameters(model: type[P], form: FormData) -> P:
    """The webhook's parameters as `model`; a 400 naming the fields that are missing or bad."""
    try:
        return parse(model, form)
    except BadRequest as exc:
        raise HTTPException(400, str(exc)) from None


@dataclass(frozen=True)
class Webhook:
    """One webhook: its path, the form it takes, its handler and what it answers."""

    path: str
    model: type[CallParams]
    handler: Callable[..., Awaitable[Response]]
    status_code: int
    wants: tuple[tuple[str, str], ...]  # (the handler's parameter, what the route supplies)

    @property
    def speaks(self) -> bool:
        """It answers TwiML (a status callback answers a status code only)."""
        return self.status_code == 200


class Webhooks:
    """One area's webhooks (a route module has one, as it has an APIRouter for the rest)."""

    def __init__(self) -> None:
        self.routes: list[Webhook] = []

    def post(
        self, path: str, model: type[CallParams], status_code: int = 200
    ) -> Callable[[Handler], Handler]:
        """Register the decorated handler as the webhook at `path`, taking `model`'s form."""

        def register(handler: Handler) -> Handler:
            hints = get_type_hints(handler, include_extras=True)
            wants = []
            for name in inspect.signature(handler).parameters:
                supply = next((s for kind, s in _SUPPLIES.items() if hints.get(name) == kind), None)
                if supply is None:
                    raise TypeError(f"webhook {handler.__name__}: nothing supplies {name!r}")
                wants.append((name, supply))
            self.routes.append(Webhook(path, model, handler, status_code, tuple(wants)))
            return handler

        return register


class Served:
    """A webhook as an ASGI endpoint of `services`."""

    def __init__(self, webhook: Webhook, services: Services) -> None:
        self.webhook = webhook
        self.services = services
        self.meter = metrics.WebhookMeter(webhook.path)
        self.runs_later = any(supply == "background" for _, supply in webhook.wants)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            answer: Response = JSONResponse(
                {"detail": "Method Not Allowed"}, 405, headers={"Allow": "POST"}
            )
        else:
            with self.meter.timing() as timed:
                answer = await self._answer(Request(scope, receive))
                timed.code = answer.status_code
        await answer(scope, receive, send)

    async def _answer(self, request: Request) -> Response:
        services = self.services
        try:
            form = await checked_form(request, services)
            values: dict[str, Any] = {"request": request, "services": services, "form": form}
            if self.runs_later:
                values["background"] = BackgroundTasks()
            arguments = {name: values[supply] for name, supply in self.webhook.wants}
            try:
                with time_allowed(services.settings.database_wait_seconds):
                    response = await self.webhook.handler(**arguments)
            except HTTPException:
                raise
            except Exception as failure:
                return await boundary.answer_failure(
                    request, services, form, failure, speaks=self.webhook.speaks
                )
        except HTTPException as refusal:  # a bad request: 4xx, no TwiML
            return JSONResponse({"detail": refusal.detail}, refusal.status_code, refusal.headers)
        background = values.get("background")
        if background is not None and background.tasks and response.background is None:
            response.background = background  # run once the answer is sent
        return response


class Service(FastAPI):
    """The app: the webhooks from their table, everything else through FastAPI."""

    twilio_webhooks: dict[str, Served]

    def serve_webhooks(self, services: Services, webhooks: Iterable[Webhook]) -> None:
        self.twilio_webhooks = {hook.path: Served(hook, services) for hook in webhooks}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            served = self.twilio_webhooks.get(path)
            if served is not None:
                scope["app"] = self
                await served(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            document = super().openapi()
            webhooks = openapi_paths(each.webhook for each in self.twilio_webhooks.values())
            document["paths"] = {**webhooks, **document["paths"]}
            self.openapi_schema = document
        return self.openapi_schema


def openapi_paths(webhooks: Iterable[Webhook]) -> dict[str, Any]:
    """OpenAPI's `paths` for the webhooks: each one's form body and answers."""
    paths: dict[str, Any] = {}
    for hook in sorted(webhooks, key=lambda hook: hook.path):
        schema = hook.model.model_json_schema(by_alias=True)
        answer: dict[str, Any] = {"description": "TwiML" if hook.speaks else "stored"}
        if hook.speaks:
            answer["content"] = {"text/xml": {"schema": {"type": "string"}}}
        doc = inspect.getdoc(hook.handler) or ""
        paths[hook.path] = {
            "post": {
                "summary": hook.handler.__name__.replace("_", " ").capitalize(),
                "description": doc,
                "operationId": f"{hook.handler.__name__}_webhook",
                "requestBody": {"required": True, "content": {FORM: {"schema": schema}}},
                "responses": {
                    str(hook.status_code): answer,
                    **({"503": {"description": "kept nowhere yet"}} if not hook.speaks else {}),
                    **{code: {"description": why} for code, why in REFUSALS.items()},
                },
            }
        }
    return paths
