"""Writing the event log: every feature records what it changed through `log_event`."""
from __future__ import annotations

from fivs.events.models import Event
from fivs.extensions import db


def log_event(action: str, *, user=None, site_id=None, audit=None, target="",
              old=None, new=None, detail: str = "") -> Event:
    """Add one event to the session (the request's commit keeps it with the change it records).

    `audit` (an Audit) fills in the audit and its site; `user` is who acted (None: the system)."""
    event = Event(
        action=action,
        user_id=getattr(user, "id", None),
        username=getattr(user, "username", "") or "",
        site_id=site_id if site_id is not None else (audit.site_id if audit else None),
        audit_id=audit.id if audit else None,
        target=target,
        old_value=old,
        new_value=new,
        detail=detail,
    )
    db.session.add(event)
    return event
