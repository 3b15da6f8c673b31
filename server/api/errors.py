"""How library errors become HTTP answers: one table (:data:`ANSWERS`), plus FastAPI's own request errors.

A dashboard page gets the error page (HTML) and an API call JSON ``{"message": ...}``; the status comes from the
error's class, never from its message text::

    SmilepostError (server)     status  page heading
    ├── Forbidden               403     Not yours to see
    ├── NotFound                404     Not found
    ├── InvalidInput            422     (always JSON: forms show their own errors)
    ├── PairingRefused          403     (always JSON: only kiosks pair)
    ├── RateLimited             429     Slow down        + Retry-After
    └── Busy                    503     Busy             + Retry-After

and :class:`server.api.deps.LoginRequired` is a redirect to the sign-in page; a request that does not validate is a
422 naming the field (413 for more taps than a batch may hold); an unknown path on the dashboard is the 404 page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from server import Busy, Forbidden, InvalidInput, NotFound, PairingRefused, RateLimited, SmilepostError
from server.api.deps import LoginRequired, optional_session
from server.web.i18n import N_
from server.web.render import render
from shared.protocol import MAX_TAPS_PER_BATCH


@dataclass(frozen=True)
class Answer:
    """How one kind of library error is answered."""

    status: int
    heading: str | None  # the error page's heading; None: JSON even for a page


ANSWERS: dict[type[SmilepostError], Answer] = {
    Forbidden: Answer(403, N_("Not yours to see")),  # headings are translated on the page (server.web.i18n)
    NotFound: Answer(404, N_("Not found")),
    InvalidInput: Answer(422, None),
    PairingRefused: Answer(403, None),
    RateLimited: Answer(429, N_("Slow down")),
    Busy: Answer(503, N_("Busy")),
}


def install(app: FastAPI) -> None:
    """Register the handlers of :data:`ANSWERS` and of FastAPI's own errors on ``app``."""
    for error in ANSWERS:
        app.add_exception_handler(error, _library_error)
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)


def answer_for(error: SmilepostError) -> Answer:
    """How ``error`` is answered: the entry of :data:`ANSWERS` for its class (or a base class)."""
    return next(answer for kind, answer in ANSWERS.items() if isinstance(error, kind))


async def _library_error(request: Request, exc: Any) -> Response:
    answer = answer_for(exc)
    retry_after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    if answer.heading is not None and wants_page(request):
        response = _error_page(request, answer.status, answer.heading, str(exc))
        response.headers.update(headers or {})
        return response
    return JSONResponse({"message": str(exc)}, status_code=answer.status, headers=headers)


async def _login_required(_request: Request, exc: Any) -> Response:
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)


async def _invalid_request(_request: Request, exc: Any) -> Response:
    errors = exc.errors()
    if any(e["type"] == "too_long" and tuple(e["loc"]) == ("body", "taps") for e in errors):
        return JSONResponse(
            {"message": f"taps: more than {MAX_TAPS_PER_BATCH} taps in one batch; split it"}, status_code=413
        )
    message = "; ".join(f"{field_path(e['loc'])}: {e['msg']}" for e in errors[:5])
    detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in errors[:50]]
    return JSONResponse({"message": message, "detail": detail}, status_code=422)


async def _http_error(request: Request, exc: Any) -> Response:
    if wants_page(request) and exc.status_code == 404:
        return _error_page(request, 404, N_("Not found"), N_("There is no such page."))
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """``('body', 'taps', 3, 'score')`` -> ``taps.3.score``."""
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts)


def wants_page(request: Request) -> bool:
    """Whether an error should be a dashboard page (HTML) rather than the API's JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path in {"/healthz", "/metrics"})


def _error_page(request: Request, status_code: int, heading: str, message: str) -> Response:
    session = optional_session(request, request.app.state.engine)
    return render(request, "error.html", session, status_code=status_code, heading=heading, message=message)
