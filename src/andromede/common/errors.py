"""The error hierarchy every service raises; each API renders it in its own wire format.

Handlers raise these; the error middleware turns them into the owning service's body shape.
Anything else escaping a handler becomes a generic 500 with no exception text.
"""

from __future__ import annotations


class ApiError(Exception):
    status = 500
    title = "Internal Server Error"
    default_message = "An unexpected error prevented the server from fulfilling your request."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None,
                 extra: dict | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        # Service-specific top-level keys merged into the body (e.g. Keystone auth receipts).
        self.extra = extra or {}
        super().__init__(self.message)


class BadRequest(ApiError):
    status = 400
    title = "Bad Request"
    default_message = "The request you have made is malformed."


class Unauthorized(ApiError):
    status = 401
    title = "Unauthorized"
    default_message = "The request you have made requires authentication."


class Forbidden(ApiError):
    status = 403
    title = "Forbidden"
    default_message = "You are not authorized to perform the requested action."


class NotFound(ApiError):
    status = 404
    title = "Not Found"
    default_message = "The resource could not be found."


class MethodNotAllowed(ApiError):
    status = 405
    title = "Method Not Allowed"
    default_message = "The method is not allowed for the requested URL."


class NotAcceptable(ApiError):
    status = 406
    title = "Not Acceptable"
    default_message = "The requested version is not supported."


class Conflict(ApiError):
    status = 409
    title = "Conflict"
    default_message = "The request conflicts with the current state of the resource."


class PayloadTooLarge(ApiError):
    status = 413
    title = "Request Entity Too Large"
    default_message = "The request body is larger than the server accepts."


class TooManyRequests(ApiError):
    """Refused for now: the Retry-After header says when to try again."""

    status = 429
    title = "Too Many Requests"
    default_message = "Too many requests; try again later."

    def __init__(self, message: str | None = None, *, retry_after_s: int) -> None:
        super().__init__(message, headers={"Retry-After": str(max(1, retry_after_s))})


class UnsupportedMediaType(ApiError):
    status = 415
    title = "Unsupported Media Type"
    default_message = "The request body must be JSON."


class ServerError(ApiError):
    pass
