"""A refused change answers with the object as it is now, so the client can merge and retry."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fivs.extensions import db
from fivs.services_errors import ConflictError, ValidationError


@contextmanager
def current_state_on_conflict(obj, name: str, as_dict: Callable[[object], dict]) -> Iterator[None]:
    """Around a service call: a 409 gets details {"row_version": ..., name: as_dict(obj)} read after
    the rollback (added to the service's own details, e.g. the answers changed meanwhile); a 422
    rolls back too, so nothing half-done stays in the session."""
    try:
        yield
    except ConflictError as exc:
        db.session.rollback()
        exc.details = {**(exc.details or {}), "row_version": obj.row_version, name: as_dict(obj)}
        raise
    except ValidationError:
        db.session.rollback()
        raise
