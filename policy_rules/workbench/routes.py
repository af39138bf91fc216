"""The workbench's server side: the page, its assets, and the few answers the REST API does not give.

Its place: ``service.app.create_app`` includes ``workbench_router`` so that
``policy-rules serve`` serves the workbench at ``/`` beside the API. The page
itself calls the API (``/v1/check``, ``/v1/evaluate``, ``/v1/decisions``);
this router adds what only a browser needs: the loaded rule files to edit,
a file laid out as ``fmt`` lays it out, the first service of a facts file
to start an interview from, a decision report as HTML, the impact of draft
rules on a register (the decision diff of ``analysis.diff``, run on the
draft against the served rules), and, when the server allows editing,
saving the draft (``workbench.saving``), the list of saves, and taking up
rule files changed on disk outside the workbench. Every page is
served with a content security policy that allows the server itself and
nothing else, so nothing in the workbench can reach another host.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from policy_rules.api import Policy, policy_from_sources
from policy_rules.errors import PolicyError, RuleFileError
from policy_rules.renderers.reports import html_report
from policy_rules.service.served import ServedPolicy
from policy_rules.service.work import Workers, stop_if_given_up
from policy_rules.values.dates import parse_as_of
from policy_rules.workbench.saving import RuleFiles, SaveRefused, plain_text, save, take_up

#: Only the server itself: scripts, styles, images, connections. No inline script, no frames.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
#: The changes listed in the impact view; the counts always cover the whole register.
SHOWN_CHANGES = 200
REGISTER_SUFFIXES = (".csv", ".yaml", ".yml", ".json", ".jsonl")
MAX_REGISTER = 20_000_000


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[str, str] = Field(description="The draft rule files: name (ending .rules) to text.", max_length=200)


class SaveRequest(DraftRequest):
    base: str = Field(max_length=100, description="The digest of the rules the draft was made from (the policy's `digest` when the page loaded).")
    reason: str = Field(min_length=1, max_length=10_000, description="What the change does and why, for the register.")
    by: str = Field(min_length=1, max_length=200, description="The officer who saves.")


class ImpactRequest(DraftRequest):
    register_name: str | None = Field(None, max_length=200, description="An uploaded register's file name (its suffix says its format).")
    register_text: str | None = Field(None, max_length=MAX_REGISTER, description="An uploaded register's text.")
    example: str | None = Field(None, max_length=200, description="One of the example registers, by name.")
    as_of: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class FormatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, description="The rule file's name, for locations.")
    text: str = Field(max_length=MAX_REGISTER, description="The rule file's text.")


class FactsFileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, description="The facts file's name (its suffix says its format).")
    text: str = Field(max_length=MAX_REGISTER, description="The facts file's text.")


class ReportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    facts: dict[str, Any]
    as_of: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$")


def static_folder() -> Path:
    return Path(str(resources.files("policy_rules.workbench") / "static"))


_WORDS = {
    401: "The token the server printed (or one of its tokens) is needed.",
    403: "The server was not started with --allow-editing.",
    404: "No such save or example register.",
    409: "The rules changed since the draft was made, or the files on disk cannot be taken up.",
    413: "The request body is too large.",
    422: "A draft, file or facts that cannot be used, located.",
    503: "The service is busy, or the work took longer than its time limit.",
}


def _answers(*statuses: int, ok: int | None = 200) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of a workbench route: a JSON object on success, and the service's error shape for each status it answers."""
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    found: dict[int | str, dict[str, Any]] = {s: {"description": _WORDS[s], "content": error} for s in statuses}
    if ok is not None:
        found[ok] = {"description": "Done.", "content": {"application/json": {"schema": {"type": "object"}}}}
    return found


def _error(status: int, message: str, location: str = "", **more: Any) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "location": location, **more}}, status_code=status)


def _not_facts(name: str, what: str, where: str) -> JSONResponse | None:
    """The refusal of an uploaded file whose name does not say a facts format, else None."""
    if Path(name).suffix.lower() in REGISTER_SUFFIXES:
        return None
    return _error(422, f"a {what} is a {', '.join(REGISTER_SUFFIXES)} file; {name} is not", where)


@contextlib.contextmanager
def uploaded(name: str, text: str) -> Iterator[Path]:
    """An uploaded file's text in a private temporary folder, named with its suffix (which says how to read it)."""
    with tempfile.TemporaryDirectory(prefix="policy-rules-upload-") as where:
        path = Path(where) / f"upload{Path(name).suffix.lower()}"
        path.write_text(text, encoding="utf-8")
        yield path


def example_registers(folder: Path | None) -> dict[str, Path]:
    """The registers offered as examples: the facts files of ``folder`` (by default ``examples/`` where the server runs)."""
    folder = folder if folder is not None else Path.cwd() / "examples"
    if not folder.is_dir():
        return {}
    return {p.name: p for p in sorted(folder.iterdir()) if p.is_file() and p.suffix.lower() in REGISTER_SUFFIXES}


def first_service(path: Path) -> dict[str, Any]:
    """The facts of the first service in a facts file, as ``evaluate`` reads them; JSON-ready (dates as text)."""
    import json

    from policy_rules.registers.facts import FactsStream
    from policy_rules.store.register import dumps

    with FactsStream(str(path)) as stream:
        for service in stream:
            return dict(json.loads(dumps(dict(service.raw))))
    raise PolicyError("this facts file holds no service", str(path))


def impact(saved: Policy, draft: Policy, register: Path, as_of: date | None) -> dict[str, Any]:
    """The decision diff of ``draft`` against ``saved`` over the services of ``register``: counts, and the first changes.

    Before each service it stops if its request was already answered 503 for taking too long (``stop_if_given_up``), as a batch
    of decisions does, so that a large register given up on does not keep a worker busy to its end.
    """
    import itertools

    from policy_rules.analysis.diff import DiffSummary, compare
    from policy_rules.registers.facts import FactsStream

    changes: list[dict[str, Any]] = []
    known = {*saved.model.fact_types, *draft.model.fact_types}  # a misspelt column is one error naming it, not one for each row
    with FactsStream(str(register), reads_as_of=True, known=known) as stream:
        services = iter(stream)
        first = list(itertools.islice(services, 1))
        when = parse_as_of(as_of if as_of is not None else stream.as_of)
        for item in compare(saved, draft, _stopping(itertools.chain(first, services)), when):
            if isinstance(item, DiffSummary):
                return {"as_of": when.isoformat(), "summary": item.to_dict(), "changes": changes, "shown": len(changes)}
            if len(changes) < SHOWN_CHANGES:
                changes.append(item.to_dict())
    raise AssertionError("compare ends with its summary")


def _stopping(services: Iterator[Any]) -> Iterator[Any]:
    for service in services:
        stop_if_given_up()
        yield service


def workbench_router(served: ServedPolicy, who: Any, workers: Workers, examples: Path | None = None, editing: RuleFiles | None = None) -> APIRouter:
    """The routes of the workbench for the ``served`` policy.

    ``who`` is the service's dependency naming the token's holder (the
    register's pages and saving need it); ``workers`` run the CPU-bound work
    (checks, decisions, formatting, impact) off the event loop, and saves
    without a time limit, since a save must not be given up half-way;
    ``examples`` is the folder of
    example registers; ``editing`` the rule files a save may write, or None
    when the server was started without ``--allow-editing``.
    """
    router = APIRouter(tags=["workbench"])
    folder = static_folder()
    page = (folder / "index.html").read_text(encoding="utf-8")

    @router.get("/", summary="The workbench's page", responses={200: {"description": "The page.", "content": {"text/html": {"schema": {"type": "string"}}}}})
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers=HEADERS)

    @router.get("/workbench/rules", summary="The rule files served, and whether the workbench may save them", responses=_answers())
    async def rules() -> JSONResponse:
        policy = served.current.policy
        return JSONResponse({"policy": policy.info.to_dict(), "files": dict(policy.model.sources), "editing": editing is not None}, headers=HEADERS)

    @router.post(
        "/workbench/save", status_code=201, summary="Save draft rule files (serve --allow-editing)", responses=_answers(401, 403, 409, 413, 422, 503, ok=201)
    )
    async def save_draft(request: SaveRequest, by: str = Depends(who)) -> JSONResponse:
        if editing is None:
            return _error(403, "this server does not save rule files; start it with `policy-rules serve RULES --allow-editing` to allow saving", "files")
        for what, text in (("reason", request.reason), ("by", request.by)):
            if not plain_text(text) or not text.strip():
                return _error(422, f"give the {'reason for the change' if what == 'reason' else 'name of who saves'} as text", what)
        try:
            made = await workers.run(save, served, editing, request.files, request.base, request.reason.strip(), request.by.strip(), by, time_limit=0)
        except SaveRefused as refused:
            return _error(refused.status, refused.message, refused.location or "files", **({"changed_on_disk": True} if refused.on_disk else {}))
        return JSONResponse({"save": made.record.to_dict(), "policy": made.policy.to_dict()}, status_code=201, headers=HEADERS)

    @router.post(
        "/workbench/take-up", summary="Serve the rule files as they are on disk now (serve --allow-editing)", responses=_answers(401, 403, 409, 422, 503)
    )
    async def take_up_disk(_by: str = Depends(who)) -> JSONResponse:
        if editing is None:
            return _error(403, "this server does not save rule files, so it serves the rules it read when it started", "files")
        try:
            found = await workers.run(take_up, served, editing, time_limit=0)
        except SaveRefused as refused:
            return _error(refused.status, refused.message, refused.location or "files")
        return JSONResponse({"files": found.files, "policy": found.policy.to_dict(), "diff": found.diff}, headers=HEADERS)

    @router.get("/workbench/saves/{save_id}", summary="One rule save, with the changes it made", responses=_answers(401, 404))
    async def one_save(save_id: int = FastPath(ge=1, le=2**31 - 1), _by: str = Depends(who)) -> JSONResponse:
        from policy_rules.store.commands import changes_of

        def read() -> dict[str, Any] | None:
            found = served.register.get_save(save_id)
            if found is None:
                return None
            before, after = served.register.rule_files(found.previous_rule_set), served.register.rule_files(found.rule_set)
            return {"save": found.to_dict(), "diff": changes_of(found, before, after)}

        shown = await run_in_threadpool(read)
        if shown is None:
            return _error(404, f"the register has no rule save {save_id}", "save_id")
        return JSONResponse(shown, headers=HEADERS)

    @router.get("/workbench/saves", summary="The rule saves, newest first", responses=_answers(401))
    async def saves(_by: str = Depends(who), limit: int = Query(50, ge=1, le=1000)) -> JSONResponse:
        found = await run_in_threadpool(served.register.saves, limit)
        return JSONResponse({"saves": [s.to_dict() for s in found]}, headers=HEADERS)

    @router.get("/workbench/examples", summary="The example registers the impact view offers", responses=_answers())
    async def examples_list() -> JSONResponse:
        return JSONResponse({"examples": list(example_registers(examples))}, headers=HEADERS)

    @router.post(
        "/workbench/report",
        summary="The decision report of one service, as HTML",
        responses={200: {"description": "The report.", "content": {"text/html": {"schema": {"type": "string"}}}}, **_answers(413, 422, 503, ok=None)},
    )
    async def report(request: ReportRequest) -> Response:
        policy = served.current.policy
        try:
            shown = await workers.run(lambda: html_report(policy.evaluate(request.facts, request.as_of, path="facts")))
        except PolicyError as error:
            return _error(422, error.message, error.location or "facts")
        return HTMLResponse(shown, headers=HEADERS)

    @router.post("/workbench/facts", summary="The first service of an uploaded facts file", responses=_answers(413, 422, 503))
    async def facts_file(request: FactsFileRequest) -> JSONResponse:
        refused = _not_facts(request.name, "facts file", "file")
        if refused is not None:
            return refused
        with uploaded(request.name, request.text) as path:
            try:
                found = await workers.run(first_service, path)
            except PolicyError as error:
                return _error(422, error.message.replace(str(path), request.name), "file")
        return JSONResponse({"facts": found}, headers=HEADERS)

    @router.post("/workbench/format", summary="One rule file laid out as `policy-rules fmt` does", responses=_answers(413, 422, 503))
    async def format_file(request: FormatRequest) -> JSONResponse:
        from policy_rules.language.format import format_text

        try:
            return JSONResponse({"text": await workers.run(format_text, request.text, request.name)}, headers=HEADERS)
        except PolicyError as error:
            return _error(422, error.message, error.location or request.name)

    @router.post("/workbench/impact", summary="What a draft changes across a register", responses=_answers(404, 413, 422, 503))
    async def impact_of(request: ImpactRequest) -> JSONResponse:
        try:
            draft = await workers.run(lambda: policy_from_sources(request.files, "draft rules", cached=False))  # text sent is not kept in the parse cache
        except RuleFileError as error:
            return _error(422, f"the draft rules have errors; fix the problems first ({error.message.splitlines()[0]})", "files")
        except PolicyError as error:
            return _error(422, error.message, "files")
        if request.example is not None:
            found = example_registers(examples).get(request.example)
            if found is None:
                return _error(404, f"there is no example register called {request.example}", "example")
            return await _run(draft, found, request.as_of)
        if request.register_text is None or request.register_name is None:
            return _error(422, "choose a register: upload a CSV or YAML file, or pick an example", "register")
        refused = _not_facts(request.register_name, "register", "register")
        if refused is not None:
            return refused
        with uploaded(request.register_name, request.register_text) as path:
            return await _run(draft, path, request.as_of)

    async def _run(draft: Policy, register: Path, as_of: str | None) -> JSONResponse:
        try:
            found = await workers.run(impact, served.current.policy, draft, register, parse_as_of(as_of) if as_of else None)
        except PolicyError as error:
            return _error(422, error.message, error.location or "register")
        return JSONResponse(found, headers=HEADERS)

    return router


def mount_workbench(app: Any, served: ServedPolicy, who: Any, workers: Workers, examples: Path | None = None, editing: RuleFiles | None = None) -> None:
    """Add the workbench to the service's application: its routes and its static files."""
    app.include_router(workbench_router(served, who, workers, examples, editing))
    app.mount("/workbench/static", StaticFiles(directory=static_folder()), name="workbench-static")


__all__ = ["impact", "mount_workbench", "workbench_router"]
