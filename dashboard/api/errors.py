"""The API's one error shape: `{"error": <stable code>, "detail": <message for people>, "fields": {name: [..]}}`.

`error` stays a flat string, as the first API answered (`"not_found"`, `"unauthorized"`), so clients that
matched on it keep working; `fields` is there only for field-level errors. Every exception a view can raise is
turned into that shape here, so a bad request is a 4xx with a reason and never a 500 page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import ProtectedError
from django.http import Http404, HttpRequest, HttpResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

if TYPE_CHECKING:
    from ninja import NinjaAPI

log = logging.getLogger("dashboard.api")

# The part of a pydantic error location that says where a value came from, not which field it is.
_SOURCES = {"body", "query", "path", "form", "file", "header", "cookie"}
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited"}


class ApiError(Exception):
    """Raised by a view to answer with `status` and a stable `code` (and per-field messages, if any)."""

    def __init__(self, status: int, code: str, detail: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.fields = status, code, detail, fields


def invalid(fields: dict[str, list[str]], detail: str = "Some fields are not valid.") -> ApiError:
    return ApiError(400, "validation_error", detail, fields)


def not_found(what: str) -> ApiError:
    # Another workspace's object is indistinguishable from a missing one.
    return ApiError(404, "not_found", f"No such {what} in this workspace.")


def form_errors(errors) -> dict[str, list[str]]:
    """A Django form's (or ValidationError's) errors, with `__all__` named `non_field_errors`."""
    return {("non_field_errors" if k == "__all__" else k): [str(m) for m in v] for k, v in errors.items()}


def error_response(api: NinjaAPI, request: HttpRequest, exc: ApiError) -> HttpResponse:
    body = {"error": exc.code, "detail": exc.detail}
    if exc.fields:
        body["fields"] = exc.fields
    response = api.create_response(request, body, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="voicebot"'
    return response


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    # A body schema is a single parameter named `payload`: its name is not a field the client sent.
    if parts and parts[0] == "payload":
        parts = parts[1:]
    return ".".join(parts) or "body"


def _from_ninja(exc: NinjaValidationError) -> ApiError:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        message = error.get("msg", "Invalid value.")
        if error.get("type") == "extra_forbidden":
            message = "Unknown field."
        fields.setdefault(_field_name(tuple(error.get("loc", ()))), []).append(message)
    if fields.get("body") and any(e.get("type") == "json_invalid" for e in exc.errors):
        return ApiError(400, "bad_request", "The body must be valid JSON.", fields)
    return invalid(fields)


def translate(exc: Exception) -> ApiError | None:
    """The ApiError an exception stands for, or None for an unexpected one (a bug: logged, answered 500)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NinjaValidationError):
        return _from_ninja(exc)
    if isinstance(exc, AuthenticationError):
        return ApiError(401, "unauthorized", "Send 'Authorization: Bearer <key>'. Create a key on the API tokens page.")
    if isinstance(exc, HttpError):
        return ApiError(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc))
    if isinstance(exc, Http404):
        return ApiError(404, "not_found", "Not found.")
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return ApiError(413, "payload_too_large", f"The request body is larger than {limit} bytes.")
    if isinstance(exc, DjangoValidationError):
        fields = form_errors(exc.message_dict) if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return invalid(fields)
    if isinstance(exc, ProtectedError):
        return ApiError(409, "conflict", "Other records still use this one; remove or move them first.")
    if isinstance(exc, IntegrityError):
        return ApiError(409, "conflict", "This conflicts with an existing record.")
    return None


def install(api: NinjaAPI) -> None:
    """Every exception reaches `handle`: ninja's own defaults answer 422, `{"detail"}` or re-raise (a 500 page)."""

    def handle(request: HttpRequest, exc: Exception) -> HttpResponse:
        error = translate(exc)
        if error is None:
            log.exception("API %s %s failed", request.method, request.path)
            error = ApiError(500, "internal_error", "Something went wrong on our side; nothing was saved.")
        return error_response(api, request, error)

    # Handlers are looked up along the exception's MRO, so ninja's defaults for these must be replaced one by one.
    for exc_class in (Exception, Http404, HttpError, NinjaValidationError):
        api.add_exception_handler(exc_class, handle)
