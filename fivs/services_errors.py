"""Errors raised by services; the HTML views and the API turn them into 4xx responses."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"
    retry_after: int | None = None  # seconds, sent as Retry-After (a 429)

    def __init__(self, message: str, *, details=None, code: str | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.message = message
        self.details = details
        if code:
            self.code = code
        if status:
            self.status = status


class ValidationError(ServiceError):
    status = 422
    code = "validation_error"


class ConflictError(ServiceError):
    status = 409
    code = "conflict"


class LockedError(ConflictError):
    code = "locked"


class NotFoundError(ServiceError):
    status = 404
    code = "not_found"


class PermissionDenied(ServiceError):
    status = 403
    code = "forbidden"
