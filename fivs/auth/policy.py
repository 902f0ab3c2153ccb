"""Who may do what: the role constants and every access rule of the app, as named predicates.

Views, the API, services and templates ask these questions instead of comparing role names, so a
rule changes in one place. The predicates are pure: they read the user (its role, its site, the
consultant's assigned site ids that come with it) and the object in question, never the database
or the request. Scoped loading (another site's object is a 404) lives in fivs.auth.access.
"""
from __future__ import annotations

from fivs.actions.models import OPEN_STATUSES
from fivs.audits.models import CALIBRATION, CONSULTANT_AUDIT, SELF_ASSESSMENT
from fivs.auth.roles import ADMIN, ALL_SITES_ROLES, CONSULTANT, PRINCIPAL, REVIEWER, ROLES, SITE_BOUND_ROLES, STAFF

__all__ = ["ADMIN", "REVIEWER", "CONSULTANT", "PRINCIPAL", "STAFF", "ROLES", "ALL_SITES_ROLES",
           "SITE_BOUND_ROLES"]


# ---------------------------------------------------------------- sites
def assigned_site_ids(user) -> frozenset[int]:
    """A consultant's assigned sites (read with the user: fivs.auth.models.User.assigned_site_ids)."""
    return user.assigned_site_ids if user.role == CONSULTANT else frozenset()


def sees_all_sites(user) -> bool:
    return user.role in ALL_SITES_ROLES


def visible_site_ids(user) -> frozenset[int] | None:
    """Site ids the user may read; None means every site."""
    if sees_all_sites(user):
        return None
    if user.role == CONSULTANT:
        return assigned_site_ids(user)
    return frozenset({user.site_id}) if user.site_id else frozenset()


def sees_site(user, site_id: int) -> bool:
    ids = visible_site_ids(user)
    return ids is None or site_id in ids


def is_site_head(user, site_id: int | None = None) -> bool:
    """The principal (or clinic head) of a site: of `site_id`, or of any site when None."""
    return user.role == PRINCIPAL and user.site_id is not None and site_id in (None, user.site_id)


def works_at_a_site(user) -> bool:
    """A principal, clinic head or staff member with a site: their home is that site's page."""
    return user.role in SITE_BOUND_ROLES and user.site_id is not None


def is_admin(user) -> bool:
    return user.role == ADMIN


def can_read_checklists(user) -> bool:
    return user.role in ROLES


def can_see_programme(user) -> bool:
    """The programme page, comparison and report: reviewers and admins."""
    return sees_all_sites(user)


def can_export(user) -> bool:
    """Spreadsheet exports of what the user may see: everyone but site staff."""
    return user.role != STAFF


# ---------------------------------------------------------------- audits
def auditable_site_ids(user) -> frozenset[int] | None:
    """Sites where the user may start an audit (consultant audit or self-assessment); None: all."""
    if user.role == ADMIN:
        return None
    if user.role == CONSULTANT:
        return assigned_site_ids(user)
    if user.role in SITE_BOUND_ROLES:
        return frozenset({user.site_id}) if user.site_id else frozenset()
    return frozenset()


def can_start_audits(user) -> bool:
    return user.role in (ADMIN, CONSULTANT, PRINCIPAL, STAFF)


def can_audit_site(user, site_id: int) -> bool:
    ids = auditable_site_ids(user)
    return ids is None or site_id in ids


def audit_kind_for(user) -> str:
    """Site staff and principals file self-assessments; everyone else consultant audits."""
    return SELF_ASSESSMENT if user.role in SITE_BOUND_ROLES else CONSULTANT_AUDIT


def can_view_audit(user, audit, hidden: frozenset[int] = frozenset()) -> bool:
    """Whoever sees the site sees its audits (staff too: their self-assessments and the consultant's),
    except the audits in `hidden` (hidden_audit_ids: the other side of an unfinished calibration
    pair the user rates in)."""
    return sees_site(user, audit.site_id) and audit.id not in hidden


def may_be_kept_blind(user, audit=None) -> bool:
    """Whether `user` could be a rater of a calibration pair (of `audit`'s, when given): one who
    can rate for a consultant (a consultant, or an admin who audited) and, for `audit`, did not
    rate it. Nobody else is ever kept blind, so their access needs no look at the pairs."""
    return user.role in (CONSULTANT, ADMIN) and (audit is None or user.id != audit.auditor_id)


def hidden_audit_ids(user, pairs) -> frozenset[int]:
    """The audits `user` may not see yet, THE blindness rule of calibration: in each calibration
    pair (consultant audit, calibration audit) not yet submitted on both sides, the side the user
    did not rate when they rated the other, so that the second rater scores independently (and
    the first cannot adjust to the second). `pairs` hold anything with id, auditor_id and status
    (audits, or the rows of fivs.audits.queries.unfinished_pairs). Every page, API, report,
    export and photo that gathers a site's audits leaves these out (fivs.audits.queries.hidden_audits)."""
    if not may_be_kept_blind(user):
        return frozenset()
    hidden = set()
    for main, second in pairs:
        if main.status == "submitted" and second.status == "submitted":
            continue
        for mine, theirs in ((main, second), (second, main)):
            if mine.auditor_id == user.id and theirs.auditor_id != user.id:
                hidden.add(theirs.id)
    return frozenset(hidden)


def can_edit_audit(user, audit) -> bool:
    """May change answers (the audit must also be editable: fivs.audits.services.ensure_editable)."""
    if user.role == ADMIN:
        return True
    if user.role == REVIEWER:
        return audit.status == "reopened"
    if audit.kind == CALIBRATION:
        return user.role == CONSULTANT and user.id == audit.auditor_id and can_audit_site(user, audit.site_id)
    if audit.kind == CONSULTANT_AUDIT:
        return user.role == CONSULTANT and can_audit_site(user, audit.site_id)
    return user.role in SITE_BOUND_ROLES and user.site_id == audit.site_id


def can_request_calibration(user) -> bool:
    """Asking a second consultant to score a consultant audit's site and round again: reviewers and admins."""
    return user.role in (REVIEWER, ADMIN)


def can_calibrate(user, site_id: int) -> bool:
    """Who may be the second rater of a site: a consultant assigned to it."""
    return user.role == CONSULTANT and site_id in assigned_site_ids(user)


def can_see_rater_drift(user) -> bool:
    """Calibration pairs and each consultant's drift from the other raters: reviewers and admins
    (never principals or staff, nor the consultants themselves)."""
    return user.role in (REVIEWER, ADMIN)

def can_acknowledge(user, audit) -> bool:
    """Acknowledging a consultant audit of a site (its sign-off): that site's principal or clinic head only."""
    return is_site_head(user, audit.site_id)


def can_reopen(user) -> bool:
    """Reopening a submitted audit: reviewers and admins."""
    return user.role in (REVIEWER, ADMIN)


def can_void(user) -> bool:
    """Voiding an audit (it stays readable but counts nowhere): reviewers and admins."""
    return user.role in (REVIEWER, ADMIN)


# ---------------------------------------------------------------- corrective actions
def _consultant_of(user, site_id: int) -> bool:
    return user.role == CONSULTANT and site_id in assigned_site_ids(user)


def can_raise_action(user, site_id: int) -> bool:
    """Consultants at their sites, reviewers and admins anywhere, principals at their own site."""
    return sees_all_sites(user) or _consultant_of(user, site_id) or is_site_head(user, site_id)


def can_mark_action_done(user, action) -> bool:
    """The site (principal, staff), its consultant or an admin; also who may change its "after" photos."""
    return (user.role == ADMIN or _consultant_of(user, action.site_id)
            or (user.role in SITE_BOUND_ROLES and user.site_id == action.site_id))


def can_verify_action(user, action) -> bool:
    """Consultant of the site, reviewer, admin: never the site itself (not even its principal)."""
    return sees_all_sites(user) or _consultant_of(user, action.site_id)


def action_photos_editable(action) -> bool:
    """An action's "after" photos may change while it is open, reopened or done (not once verified)."""
    return action.status in (*OPEN_STATUSES, "done")
