"""The web page and the JSON API over one Asker (FastAPI; OpenAPI at /docs and /openapi.json).

Every /api request, the event stream included, needs `Authorization: Bearer TOKEN` when the
service has a token; the page and its static files carry no data and are open, the page sends
the token it was given in its address (`/#token=...`, a fragment the browser never sends on).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from sse_starlette import EventSourceResponse
from starlette.exceptions import HTTPException

from agents.traces import Step
from service.answers import clean, step_brief
from service.asker import Asker
from service.errors import STATUS, BadInput, NotFound
from tools.errors import DevstarlError

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1_000_000  # bytes; a question is at most a few kB
_SCHEME = HTTPBearer(auto_error=False)  # module level: FastAPI resolves annotations here


class AskRequest(BaseModel):
    question: str = Field(description="The question, in your words.")
    db: str | None = Field(None, description="A database name from /api/databases "
                                             "(default: the first).")


class FeedbackRequest(BaseModel):
    rating: Literal["up", "down"] = Field(description="Was the answer right?")
    comment: str | None = Field(None, max_length=2000)


def create_app(asker: Asker, token: str | None = None) -> FastAPI:
    app = FastAPI(title="DevStarL", summary="Questions over databases, answered with Ibis "
                  "programs a local model writes and the tools verify.", version="1")
    api = APIRouter(prefix="/api", dependencies=[Depends(_bearer(token))])
    store = asker.store

    @api.get("/databases")
    def databases() -> dict[str, Any]:
        """The databases this service answers on, with their tables and columns."""
        return {"default": asker.catalog.default, "databases": asker.catalog.describe()}

    @api.post("/ask")
    async def ask(body: AskRequest) -> dict[str, Any]:
        """Answer a question: the table, the Ibis program, its SQL, a chart and the trace id."""
        return clean(await asyncio.wrap_future(asker.submit(body.db, body.question)))

    @api.post("/ask/stream", response_class=EventSourceResponse)
    async def ask_stream(body: AskRequest) -> EventSourceResponse:
        """The same, as server-sent events: a `step` event per step as it happens, then one
        `answer` event (the /api/ask record) or an `error` event."""
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def on_step(step: Step) -> None:
            loop.call_soon_threadsafe(events.put_nowait, ("step", step_brief(step)))

        future = asker.submit(body.db, body.question, on_step)
        future.add_done_callback(
            lambda f: loop.call_soon_threadsafe(events.put_nowait, ("done", f)))

        async def stream() -> Any:
            while True:
                kind, value = await events.get()
                if kind == "step":
                    yield {"event": "step", "data": json.dumps(clean(value))}
                    continue
                try:
                    yield {"event": "answer", "data": json.dumps(clean(value.result()))}
                except Exception as e:  # noqa: BLE001 - any failure of ours ends the stream
                    yield {"event": "error", "data": json.dumps({"error": one_line(e)})}
                return

        return EventSourceResponse(stream())

    @api.get("/traces/{trace_id}")
    def trace(trace_id: str) -> dict[str, Any]:
        """A stored trace: every step with its messages and tool results, and its feedback."""
        found = store.get(trace_id)
        if found is None:
            raise NotFound(f"no trace {trace_id!r}")
        return clean({**found.to_dict(), "feedback": store.feedback(found.trace_id)})

    @api.post("/traces/{trace_id}/feedback")
    def feedback(trace_id: str, body: FeedbackRequest) -> dict[str, Any]:
        """Say whether an answer was right (👍 "up" / 👎 "down"); kept beside the trace."""
        try:
            store.add_feedback(trace_id, body.rating, body.comment)
        except KeyError:
            raise NotFound(f"no trace {trace_id!r}") from None
        return {"trace_id": trace_id, "feedback": store.feedback(trace_id)}

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/assets/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(str(files("plotly") / "package_data" / "plotly.min.js"),
                            media_type="text/javascript")

    _handle_errors(app)
    return app


def _bearer(token: str | None) -> Any:
    def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_SCHEME)]
              ) -> None:
        if token is None:
            return
        if credentials is None:
            raise HTTPException(401, "missing bearer token: send 'Authorization: Bearer TOKEN'",
                                headers={"WWW-Authenticate": "Bearer"})
        if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
            raise HTTPException(401, "wrong token", headers={"WWW-Authenticate": "Bearer"})

    return check


def _handle_errors(app: FastAPI) -> None:
    """Every refusal is {"error": one line} with a 4xx (503 when full); the service goes on."""

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        size = request.headers.get("content-length")
        if size is not None and size.isdigit() and int(size) > MAX_BODY:
            return _error(413, f"request body too large: {int(size):,} bytes (at most "
                               f"{MAX_BODY:,})")
        return await call_next(request)

    @app.exception_handler(DevstarlError)
    async def ours(request: Request, e: DevstarlError) -> JSONResponse:
        status = next((s for kind, s in STATUS.items() if isinstance(e, kind)), 500)
        headers = {"Retry-After": "5"} if status == 503 else None
        return _error(status, one_line(e), headers)

    @app.exception_handler(HTTPException)
    async def http(request: Request, e: HTTPException) -> JSONResponse:
        return _error(e.status_code, one_line(e.detail), e.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errors = e.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return _error(400, "the request body is not valid JSON")
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def one_line(e: Any) -> str:
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if token is not None and not token.strip():
        raise BadInput("the token is empty")
    if token is None and not is_loopback(host):
        raise BadInput(f"listening on {host} (not loopback) needs --token (or $DEVSTARL_TOKEN)")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
