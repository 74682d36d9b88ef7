"""A FastAPI app for one service, with that service's error format wired in."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from andromede.common.errors import (
    ApiError,
    BadRequest,
    MethodNotAllowed,
    NotFound,
    ServerError,
    UnsupportedMediaType,
)
from andromede.servicekit import errors


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON."
    location = ".".join(str(part) for part in first.get("loc", ())[1:])
    return f"Invalid input for field '{location}': {first.get('msg', 'invalid value')}."


def _respond(request: Request, error: ApiError) -> JSONResponse:
    formatter = errors.formatter_for(request.scope.get("root_path", "") + request.scope.get("path", ""))
    return JSONResponse(formatter(error), status_code=error.status, headers=error.headers)


def service_app(name: str) -> FastAPI:
    app = FastAPI(title=f"Andromède {name}", openapi_url=None, docs_url=None, redoc_url=None,
                  redirect_slashes=False)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
            return _respond(request, NotFound())  # a path that names no resource kind we serve
        return _respond(request, BadRequest(_validation_message(exc)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _respond(request, ServerError())  # no exception text: it may hold secrets or SQL

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        mapped: ApiError
        if exc.status_code == 404:
            mapped = NotFound()
        elif exc.status_code == 405:
            mapped = MethodNotAllowed()
        elif exc.status_code == 415:
            mapped = UnsupportedMediaType()
        else:
            mapped = BadRequest(str(exc.detail)) if exc.status_code == 400 else ApiError()
            mapped.status = exc.status_code
        return _respond(request, mapped)

    return app
