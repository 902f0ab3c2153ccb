"""Error pages: every error a user can cause is a clear 4xx page (JSON under /api/)."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from fivs.extensions import db
from fivs.photos.storage import StorageError
from fivs.services_errors import ServiceError

STORAGE_RETRY_AFTER = 30  # seconds: a store that is down for a moment is often back by then


def wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json")


def error_messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please log in."),
        403: _("You do not have permission to do this."),
        404: _("Not found, or not yours to see."),
        405: _("This action is not allowed here."),
        409: _("This conflicts with the current state."),
        413: _too_large(),
        415: _("This type of content is not accepted."),
        422: _("Some of the data is not valid."),
        429: _("Too many attempts. Wait a minute and try again."),
        500: _("Something went wrong on our side. Nothing you saved before was lost."),
    }


def _too_large() -> str:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit >= 1024 * 1024:
        return _("The upload is too large (at most %(mb)d MB).", mb=limit // (1024 * 1024))
    return _("The upload is too large (at most %(kb)d KB).", kb=max(1, limit // 1024))


def error_response(status: int, message: str | None = None, *, code: str | None = None, details=None):
    message = message or error_messages().get(status, _("Error"))
    if wants_json():
        body = {"error": {"code": code or _code_for(status), "message": message, "details": details}}
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message, details=details), status


def _code_for(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large", 415: "unsupported_media_type",
            422: "validation_error", 429: "too_many_requests"}.get(status, "error")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return error_response(400, _("The form expired or was sent from elsewhere. Reload the page and try again; "
                                     "nothing was changed."), code="csrf")

    @app.errorhandler(ServiceError)
    def _service(exc: ServiceError):
        response = make_response(error_response(exc.status, exc.message, code=exc.code, details=exc.details))
        if exc.retry_after:  # RFC 9110: when to try again (a 429)
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        message = None if exc.description == type(exc).description else exc.description
        response = make_response(error_response(exc.code, message))
        for name, value in exc.get_headers():  # e.g. a 405's Allow (RFC 9110), a 401's WWW-Authenticate
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(StorageError)
    def _storage(exc: StorageError):
        # The media store is away (S3 unreachable, a full disk): not the user's fault and not a bug to
        # hide behind a 500; the request's rows go with its files, and a tablet's queue retries a 503.
        app.logger.warning("media store unavailable: %s", exc)
        db.session.rollback()
        response = make_response(error_response(
            503, _("The photo store cannot be reached just now: this was not saved. Try again in a minute; "
                   "nothing you saved before was lost."), code="storage_unavailable"))
        response.headers["Retry-After"] = str(STORAGE_RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc):
        app.logger.exception("unhandled error")
        db.session.rollback()
        return error_response(500)
