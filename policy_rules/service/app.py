"""``create_app``: the FastAPI application of the decision service.

Every answer that is not a success is ``{"error": {"message", "location"}}``
with its status (400 unusable request or a host the server is not reached by,
401 no valid token, 403 a change asked by a web page of another origin, 404
nothing there, 413 too large, 422 facts or fields that cannot be used, 503
busy or over the time limit, with ``Retry-After``); an internal failure is
500 with a line asking for a bug report, never a traceback. Deciding,
checking, planning and encoding large answers run on the bounded ``Workers``
(``service/work.py``), never on the event loop, so one heavy request cannot
stall the others; the register's reads and writes run in threads of their
own, so a slow disk never holds up the loop either.
"""

# No `from __future__ import annotations`: FastAPI reads the endpoints' annotations, some of them names local to create_app.

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import attrs
from fastapi import Body, Depends, FastAPI, Path, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from policy_rules import __version__
from policy_rules.api import Policy
from policy_rules.errors import ConflictError, FactsError, LimitError, PolicyError, did_you_mean
from policy_rules.service import openapi
from policy_rules.service.guard import BodyLimit, HostCheck, OriginCheck, Settings, error_body, holder, too_large
from policy_rules.service.policy_view import POLICY_SCHEMAS, diagnostics_of
from policy_rules.service.served import ServedPolicy
from policy_rules.service.work import Busy, Workers, json_bytes, stop_if_given_up
from policy_rules.store import DecisionRegister
from policy_rules.values.dates import parse_as_of

if TYPE_CHECKING:
    from policy_rules.workbench.saving import RuleFiles

BUG_REPORT = "internal error in policy_rules; please report it with the request you sent"
DATE = r"^\d{4}-\d{2}-\d{2}$"
MAX_ID = 2**31 - 1
TEXT = 10_000


class Problem(Exception):
    """An error answered as ``{"error": ...}`` with a status."""

    def __init__(self, status: int, message: str, location: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.location = status, message, location


class EvaluateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: dict[str, Any] = Field(description="The facts about one service, as a facts file gives them: fact names to values.")
    as_of: str | None = Field(None, pattern=DATE, description="Decide as at this date (YYYY-MM-DD); default today.")
    trace: bool = Field(True, description="Include the explanation (false: a decision without its trace, faster).")


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[dict[str, Any]] = Field(description="The facts of each service.")
    as_of: str | None = Field(None, pattern=DATE, description="Decide as at this date (YYYY-MM-DD); default today.")
    trace: bool = Field(False, description="Include each decision's explanation.")


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: str = Field(min_length=1, max_length=200, description="The outcome decided, one the policy declares.")
    reason: str = Field(min_length=1, max_length=TEXT, description="Why the officer decided against the rules' outcome.")
    by: str = Field(min_length=1, max_length=200, description="The officer who decided.")


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[dict[str, Any]] = Field(description="The register: the facts of each service, as a facts file gives them.")
    start: str | None = Field(None, pattern=r"^\d{4}-(\d{2}|Q[1-4])$", description="The first quarter: YYYY-MM or YYYY-Qn; default the quarter of as_of.")
    quarters: int = Field(12, ge=1, le=40, description="How many quarters the programme runs.")
    staff_per_quarter: int | None = Field(None, ge=0, description="Staff the council can take on each quarter; none: no limit.")
    budget_per_year: int | None = Field(None, ge=0, description="Extra yearly cost (pounds) the council can absorb each programme year; none: no limit.")
    preparation_quarters: int = Field(2, ge=0, le=40, description="Quarters a phased service spends building skills first.")
    as_of: str | None = Field(None, pattern=DATE, description="Decide the services as at this date (YYYY-MM-DD); default today.")
    time_limit: float = Field(5.0, gt=0, le=20, description="Seconds the solver may take; the plan says whether it is proven optimal.")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[str, str] = Field(description="Rule files to check: name (ending .rules) to text.", max_length=200)


ERRORS = {
    status: {"description": words, **openapi.schema_ref("Error")}
    for status, words in (
        (400, "The request cannot be used (not JSON, a bad date or query), or it is addressed to a name the server is not reached by (Host)."),
        (401, "A bearer token is needed and none valid was given."),
        (403, "A change, or a read of the register, asked by a web page of another origin (Origin or Referer); or saving without --allow-editing."),
        (404, "No such decision."),
        (413, "The request body or batch is too large."),
        (422, "Facts or fields that cannot be used, located."),
        (503, "The service is busy, or the request's work took longer than its time limit; nothing was recorded. Try again after `Retry-After` seconds."),
    )
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: ERRORS[s] for s in statuses}


def _clean(value: Any, where: str, status: int = 422) -> None:
    """Refuse text no database or JSON encoder can keep: NUL characters and unpaired surrogates (``"\\ud800"`` in JSON).

    In a body such text is a field that cannot be used (422); in a query it is a bad query (400), as every other refusal of one.
    """
    if isinstance(value, str):
        if "\x00" in value or _SURROGATE.search(value):
            raise Problem(status, "text may not contain NUL characters or unpaired surrogates (\\u0000, \\ud800 to \\udfff)", where)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _clean(key, where, status)
            _clean(item, f"{where}.{key}" if _PLAIN.match(str(key)) else where, status)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _clean(item, f"{where}[{index}]", status)


_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def _status_of(error: PolicyError) -> int:
    return 422 if isinstance(error, FactsError | ConflictError | LimitError) else 400


def create_app(policy: Policy, register: DecisionRegister, settings: Settings | None = None, editing: "RuleFiles | None" = None) -> FastAPI:
    """The application serving ``policy`` and recording into ``register``.

    ``editing`` is the ``workbench.saving.RuleFiles`` the workbench may save
    drafts to (``serve --allow-editing``), or None: then nothing can change the
    rules served, and ``policy`` is what every answer uses.
    """
    settings = settings or Settings()
    served = ServedPolicy(policy, register)
    app = FastAPI(
        title="policy-rules decision service",
        version=__version__,
        description=(
            f"Decisions by the policy {policy.info.name!r} (version {policy.info.version}), each with its explanation, "
            "and the append-only register of recorded decisions and their overrides."
        ),
        docs_url=None,
        redoc_url=None,
    )
    app.state.served = served  # the policy being served, for those embedding the application (and its tests)
    workers = Workers(settings.threads, settings.queue, settings.time_limit)
    app.state.workers = workers
    app.router.add_event_handler("shutdown", workers.close)
    bearer = HTTPBearer(auto_error=False, description="NAME=TOKEN lines given to the server; needed for the register when the server has tokens.")

    def who(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]) -> str:
        found = holder(settings, request.headers.get("authorization"))
        if found is None:
            raise Problem(
                401,
                "the register and saving rules need the token the server printed when it started: send the header `Authorization: Bearer TOKEN`",
                "Authorization",
            )
        return found

    Who = Annotated[str, Depends(who)]
    DecisionId = Annotated[int, Path(ge=1, le=MAX_ID, description="The decision's id in the register.")]

    def decided(facts: Mapping[str, Any], as_of: str | date | None, trace: bool, where: str, index: int = 0, policy: Policy | None = None) -> Any:
        _clean(facts, where)
        when = parse_or_problem(as_of)
        try:
            return (policy or served.current.policy).evaluate(facts, when, trace=trace, path=where, index=index)
        except PolicyError as error:
            raise Problem(_status_of(error), error.message, error.location or where) from None

    @app.exception_handler(Problem)
    async def _problem(_request: Request, error: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        return JSONResponse(error_body(error.message, error.location), status_code=error.status, headers=headers)

    @app.exception_handler(Busy)
    async def _busy(_request: Request, error: Busy) -> JSONResponse:
        return JSONResponse(error_body(error.message), status_code=503, headers={"Retry-After": str(error.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "the request cannot be used", "type": ""}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "body"
        if first.get("type") == "json_invalid":
            return JSONResponse(error_body(f"the request body is not JSON ({first.get('ctx', {}).get('error', 'malformed')})", "body"), status_code=400)
        if tuple(first.get("loc", ())) == ("body",):
            return JSONResponse(error_body("the request body must be a JSON object, sent with `Content-Type: application/json`", "body"), status_code=400)
        message = str(first.get("msg", "invalid")).replace("String should match pattern '^\\d{4}-\\d{2}-\\d{2}$'", "write the date as YYYY-MM-DD")
        status = 400 if first.get("loc", ("body",))[0] in ("query", "path") else 422
        return JSONResponse(error_body(message[:1].lower() + message[1:], where), status_code=status)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, error: HTTPException) -> JSONResponse:
        message = {404: "there is nothing at this address; see /openapi.json", 405: "this address does not take this method; see /openapi.json"}
        text = error.detail if error.status_code == 413 else message.get(error.status_code, str(error.detail))
        return JSONResponse(error_body(text, "path" if error.status_code in (404, 405) else "body"), status_code=error.status_code, headers=error.headers)

    @app.exception_handler(Exception)
    async def _bug(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(error_body(f"{BUG_REPORT} ({type(error).__name__})"), status_code=500)

    async def refuse(scope: Any, receive: Any, send: Any, limit: int) -> None:
        await JSONResponse(error_body(too_large(limit), "body"), status_code=413)(scope, receive, send)

    app.add_middleware(BodyLimit, limit=settings.max_body, refuse=refuse)
    app.add_middleware(OriginCheck, allowed=settings.allowed_origins)
    if settings.allowed_origins:
        from starlette.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Location"],
        )
    app.add_middleware(HostCheck, names=settings.host_names())

    @app.get(
        "/healthz",
        summary="Whether the service is up, and the policy it decides with",
        responses={
            200: {
                "description": "Up.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["status", "policy"],
                            "additionalProperties": False,
                            "properties": {"status": {"const": "ok"}, "policy": {"$ref": f"#/components/schemas/{openapi.PREFIX}policy"}},
                        }
                    }
                },
            }
        },
    )
    async def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok", "policy": served.current.policy.info.to_dict()})

    @app.get(
        "/v1/policy",
        summary="The loaded policy: its facts with types and questions, its decisions and outcomes",
        responses={200: {"description": "The policy.", **openapi.schema_ref("PolicyDescription")}},
    )
    async def policy_description() -> JSONResponse:
        return JSONResponse(served.current.described)

    @app.post(
        "/v1/evaluate",
        summary="Decide one service; nothing is stored",
        responses={200: {"description": "The decision.", **openapi.schema_ref("Decision")}, **_errors(400, 413, 422, 503)},
    )
    async def evaluate(request: EvaluateRequest) -> Response:
        return answer(await workers.run(lambda: json_bytes(decided(request.facts, request.as_of, request.trace, "facts").to_dict())))

    @app.post(
        "/v1/evaluate/batch",
        summary="Decide many services at once; nothing is stored",
        responses={200: {"description": "One result per service.", **openapi.schema_ref("BatchResults")}, **_errors(400, 413, 422, 503)},
    )
    async def evaluate_batch(request: BatchRequest) -> Response:
        if len(request.services) > settings.max_batch:
            raise Problem(413, f"a batch holds at most {settings.max_batch:,} services; this one has {len(request.services):,}", "services")
        when = parse_or_problem(request.as_of)
        policy = served.current.policy  # one policy for the whole batch, whatever a save does meanwhile

        def work() -> bytes:
            results: list[dict[str, Any]] = []
            for index, facts in enumerate(request.services):
                stop_if_given_up()
                try:
                    results.append({"index": index, "decision": decided(facts, when, request.trace, f"services[{index}]", index, policy).to_dict()})
                except Problem as problem:
                    results.append({"index": index, **error_body(problem.message, problem.location)})
            return json_bytes({"results": results})

        return answer(await workers.run(work))

    @app.post(
        "/v1/decisions",
        status_code=201,
        summary="Decide one service and record the decision in the register",
        responses={201: {"description": "The recorded decision, with its id.", **openapi.schema_ref("RecordedDecision")}, **_errors(400, 401, 413, 422, 503)},
    )
    async def record(request: EvaluateRequest, by: Who) -> Response:
        current = served.current  # the decision and its rule set from one policy, whatever a save does meanwhile

        def work() -> Any:
            decision = decided(request.facts, request.as_of, True, "facts", policy=current.policy).to_dict()
            kept = register.prepare(decision, request.facts)
            if kept.size > settings.max_record:
                raise Problem(
                    413,
                    f"this decision would take {kept.size:,} bytes in the register, more than it keeps for one ({settings.max_record:,} bytes, "
                    "--max-record); send fewer parts or smaller facts",
                    "facts",
                )
            return kept, decision if request.trace else decision | {"trace": []}

        kept, whole = await workers.run(work)  # decided in time, or nothing is recorded
        (recorded,) = await run_in_threadpool(register.record_prepared, current.rule_set, [kept], by)
        body = attrs.evolve(recorded, decision=whole).to_dict()  # the answer has the whole decision; the register keeps it compact
        return answer(await workers.run(json_bytes, body), 201, {"Location": f"/v1/decisions/{recorded.id}"})

    @app.get(
        "/v1/decisions/{decision_id}",
        summary="A recorded decision, with its overrides",
        responses={200: {"description": "The recorded decision.", **openapi.schema_ref("RecordedDecision")}, **_errors(400, 401, 404, 503)},
    )
    async def recorded(decision_id: DecisionId, _by: Who) -> Response:
        found = await run_in_threadpool(register.get, decision_id)
        if found is None:
            raise Problem(404, f"the register has no decision {decision_id}", "decision_id")
        return answer(await workers.run(lambda: json_bytes(register.explained(found).to_dict())))

    @app.get(
        "/v1/decisions",
        summary="Recorded decisions, newest first",
        responses={200: {"description": "The decisions.", **openapi.schema_ref("DecisionList")}, **_errors(400, 401)},
    )
    async def listed(
        _by: Who,
        service: Annotated[str | None, Query(max_length=TEXT, description="Only this service's decisions.")] = None,
        outcome: Annotated[str | None, Query(max_length=200, description="Only decisions with this outcome.")] = None,
        since: Annotated[str | None, Query(max_length=40, description="Only decisions recorded since this date or time (UTC).")] = None,
        before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only decisions older than this id: the next page.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000, description="At most this many.")] = 100,
    ) -> JSONResponse:
        for name, value in (("service", service), ("outcome", outcome), ("since", since)):
            _clean(value, name, 400)
        try:
            found = await run_in_threadpool(lambda: register.list(service=service, outcome=outcome, since=since, before=before, limit=limit))
        except PolicyError as error:
            raise Problem(400, error.message, error.location) from None
        return JSONResponse({"decisions": [d.summary() for d in found]})

    @app.post(
        "/v1/decisions/{decision_id}/overrides",
        status_code=201,
        summary="Record a decision an officer took against the rules' outcome",
        responses={201: {"description": "The override recorded.", **openapi.schema_ref("Override")}, **_errors(400, 401, 404, 413, 422)},
    )
    async def override(decision_id: DecisionId, request: OverrideRequest, by: Who) -> JSONResponse:
        _clean(request.model_dump(), "body")
        found = await run_in_threadpool(register.get, decision_id)
        if found is None:
            raise Problem(404, f"the register has no decision {decision_id}", "decision_id")
        outcomes = await run_in_threadpool(outcomes_of, register, found.rule_set)
        if request.outcome not in outcomes:
            raise Problem(
                422,
                f"`{request.outcome}` is not an outcome of this policy; the outcomes are {', '.join(outcomes)}{did_you_mean(request.outcome, outcomes)}",
                "outcome",
            )
        made = await run_in_threadpool(register.override, decision_id, request.outcome, request.reason.strip(), request.by.strip(), by)
        if made is None:
            raise Problem(404, f"the register has no decision {decision_id}", "decision_id")
        return JSONResponse(made.to_dict(), status_code=201)

    @app.post(
        "/v1/plan",
        summary="Plan the insourcing programme for a register, as `policy-rules plan --format json` does",
        responses={
            200: {"description": "The plan: each service's quarter (or none) and why.", "content": {"application/json": {"schema": {"type": "object"}}}},
            **_errors(400, 413, 422, 503),
        },
    )
    async def plan_programme(request: PlanRequest) -> JSONResponse:
        from policy_rules.planner.plan import plan

        if len(request.services) > settings.max_batch:
            raise Problem(413, f"a register holds at most {settings.max_batch:,} services here; this one has {len(request.services):,}", "services")
        for index, facts in enumerate(request.services):
            _clean(facts, f"services[{index}]")
        options = request.model_dump(exclude={"services", "time_limit"})

        def work() -> Any:
            return plan(served.current.policy, request.services, **options, time_limit=request.time_limit, workers=1)

        try:
            made = await workers.run(work, time_limit=settings.time_limit + request.time_limit)
        except PolicyError as error:
            raise Problem(_status_of(error), error.message, error.location or "services") from None
        return JSONResponse(made.to_dict())

    @app.post(
        "/v1/check",
        summary="Check rule files, as `policy-rules check` does",
        responses={200: {"description": "The diagnostics.", **openapi.schema_ref("CheckResult")}, **_errors(400, 413, 422, 503)},
    )
    async def check(request: Annotated[CheckRequest, Body()]) -> JSONResponse:
        _clean(request.files, "files")
        result = await workers.run(diagnostics_of, request.files)
        if isinstance(result, str):
            raise Problem(422, result, "files")
        return JSONResponse(result)

    def parse_or_problem(as_of: str | date | None) -> date | None:
        if as_of is None:
            return None
        try:
            return parse_as_of(as_of)
        except PolicyError as error:
            raise Problem(422, error.message, "as_of") from None

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            schemas.update(openapi.components())
            schemas.update(POLICY_SCHEMAS)
            for path, item in schema["paths"].items():
                for method, operation in item.items():
                    _as_answered(path, method, operation)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]
    from policy_rules.workbench import mount_workbench

    mount_workbench(app, served, who, workers, editing=editing)
    return app


def _as_answered(path: str, method: str, operation: dict[str, Any]) -> None:
    """Make an operation's responses those the service really gives, whatever FastAPI infers from its parameters.

    FastAPI documents a 422 for every parameter, pointing at its own
    validation schema; this service answers a bad query or path with 400 and a
    bad body with 422, both in its one error shape. Every request addressed to
    a name the server is not reached by is answered 400; every change, and
    every read of the register, from a web page of another origin 403.
    """
    responses = operation.setdefault("responses", {})
    if "HTTPValidationError" in str(responses.get("422", "")):
        del responses["422"]
        if "requestBody" in operation:
            responses["422"] = ERRORS[422]
    responses.setdefault("400", ERRORS[400])
    if method != "get" or path.startswith(("/v1/decisions", "/workbench/saves")):
        responses.setdefault("403", ERRORS[403])


def answer(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON answer whose body a worker already encoded."""
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def outcomes_of(register: DecisionRegister, rule_set: str) -> list[str]:
    """The outcomes the policy that made a decision declares for its outcome decision."""
    model = register.policy_of(rule_set).model
    decision = model.decisions.get(model.outcome or "")
    return [o.name for o in decision.outcomes] if decision else []
