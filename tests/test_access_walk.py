"""Access control everywhere: walk the app's URL map, every rule and every method, as every role
and as an anonymous visitor, and compare the status with the ACCESS table below.

A route that is not in the table FAILS the suite ("add <endpoint> to the access table"), so a new
route cannot land without someone deciding who may call it.

The world: site A (the consultant is assigned to it, the principal and staff belong to it) and
site B, identical in shape, each with a draft consultant audit, a draft self-assessment by one of
its staff (each audit with a photo) and a corrective action with an "after" photo. Each row of the table gives the status
for A's objects. Every route on an audit or a photo is walked twice: on the consultant audit (ACCESS)
and on the self-assessment (SELF_ACCESS where the answer differs: the site's principal and staff
change a self-assessment, a consultant only reads it); every route on a photo is walked a third
time with the action's photo (ACTION_PHOTO_ACCESS where the answer differs). For B's objects a site-scoped role
(consultant, principal, staff) must get 404 wherever it got through on A (another site's object is
a 404, never a 403); admins and reviewers see every site, so B answers as A did.

Unsafe methods carry a valid CSRF token (HTML) or a bearer token (/api/): what is tested is
access, not CSRF. Where a view validates its input before it checks permission, BODIES gives a
valid body so the permission check is reached; elsewhere the body is empty and an allowed request
ends in a form page or a validation error, which proves it got past the access checks.
"""
from __future__ import annotations

import hashlib
import io
import re
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from fivs import create_app
from fivs.actions.models import CorrectiveAction
from fivs.audits.models import Audit
from fivs.calendar.models import RoundWindow
from fivs.calendar.services import seed_pilot_calendar
from fivs.extensions import db
from fivs.auth.models import ApiToken, User
from fivs.checklists.content import template_content
from fivs.checklists.models import ChecklistUpload
from fivs.checklists.xlsx import write_workbook
from fivs.photos.models import Photo
from fivs.sites.models import Site
from tests.api_support import token_for
from tests.conftest import PASSWORD, login
from tests.factories import make_audit, make_site, make_user, template_for
from tests.state import database_state, media_state

ROLES = ("anonymous", "admin", "reviewer", "consultant", "principal", "staff")
SCOPED_ROLES = ("consultant", "principal", "staff")
UNTESTED_METHODS = {"HEAD", "OPTIONS"}
UNTESTED_ENDPOINTS = {"static"}
SITE_SCOPED_ARGS = {"code", "audit_uuid", "audit_id", "photo_id", "photo_uuid", "action_id", "action_uuid"}
LOGIN = "login"  # a 302 to the login page
_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

def row(anonymous, admin, reviewer, consultant, principal, staff) -> dict[str, object]:
    return dict(zip(ROLES, (anonymous, admin, reviewer, consultant, principal, staff)))


def everyone(status) -> dict[str, object]:
    return row(status, status, status, status, status, status)


def logged_in(status, anonymous=LOGIN) -> dict[str, object]:
    return row(anonymous, status, status, status, status, status)


def admin_only(status, anonymous=LOGIN) -> dict[str, object]:
    return row(anonymous, status, 403, 403, 403, 403)


# endpoint -> method -> role -> expected status on site A's objects.
#                                  anonymous  admin reviewer consultant principal staff
ACCESS: dict[str, dict[str, dict[str, object]]] = {
    # ---------------------------------------------------------------- public and account
    "main.healthz": {"GET": everyone(200)},
    "main.set_language": {"GET": everyone(302)},
    "main.home": {"GET": logged_in(200)},
    "calendar.index": {"GET": admin_only(200)},
    "calendar.new": {"GET": admin_only(200), "POST": admin_only(422)},    # empty body
    "calendar.edit": {"GET": admin_only(200), "POST": admin_only(422)},   # empty body
    "calendar_api.calendar": {"GET": logged_in(200, anonymous=401)},
    "calendar_api.board": {"GET": row(401, 200, 200, 403, 403, 403)},
    "auth.login": {"GET": everyone(200), "POST": everyone(400)},   # empty form: refused
    "auth.logout": {"POST": everyone(LOGIN)},                       # out, back to the login page
    "auth.password": {"GET": logged_in(200), "POST": logged_in(422)},
    "offline.service_worker": {"GET": everyone(200)},
    # ---------------------------------------------------------------- administration
    "admin_users.index": {"GET": admin_only(200)},
    "admin_users.new": {"GET": admin_only(200), "POST": admin_only(422)},
    "admin_users.edit": {"GET": admin_only(200), "POST": admin_only(422)},
    "admin_users.new_token": {"POST": admin_only(200)},             # the token, shown once
    "admin_users.revoke_token": {"POST": admin_only(302)},
    "sites.admin_index": {"GET": admin_only(200)},
    "sites.admin_new": {"GET": admin_only(200), "POST": admin_only(422)},
    "sites.admin_edit": {"GET": admin_only(200), "POST": admin_only(302)},   # unticked box: inactive
    "events.index": {"GET": admin_only(200)},
    # ---------------------------------------------------------------- sites, checklists, comparisons
    "sites.detail": {"GET": logged_in(200)},
    "checklists.index": {"GET": logged_in(200)},
    "checklists.detail": {"GET": logged_in(200)},
    "checklists.download_xlsx": {"GET": logged_in(200)},
    "checklists.download_yaml": {"GET": logged_in(200)},
    "checklists.upload": {"GET": admin_only(200), "POST": admin_only(422)},   # no file: refused
    "checklists.review": {"GET": admin_only(200)},
    "checklists.preview": {"GET": admin_only(200)},
    "checklists.publish": {"POST": admin_only(302)},   # published as the next version
    "comparisons.site": {"GET": logged_in(200)},
    "comparisons.programme": {"GET": row(LOGIN, 200, 200, 403, 403, 403)},
    # ---------------------------------------------------------------- audits (HTML)
    "audits.new": {"GET": row(LOGIN, 200, 403, 200, 200, 200),
                   "POST": row(LOGIN, 422, 403, 422, 422, 422)},   # empty form: refused
    "audits.zones": {"GET": logged_in(200)},
    "audits.summary": {"GET": logged_in(200)},
    "audits.history": {"GET": logged_in(200)},
    "audits.zone": {"GET": logged_in(200),
                    # only the auditor's side may save a consultant audit; others get a 403
                    "POST": row(LOGIN, 302, 403, 302, 403, 403)},
    "audits.add_room": {"POST": row(LOGIN, 302, 403, 302, 403, 403)},
    "audits.remove_room": {"POST": row(LOGIN, 302, 403, 302, 403, 403)},
    "audits.submit": {"POST": row(LOGIN, 422, 403, 422, 403, 403)},  # draft with no answers
    # the step before submitting: whoever may change the audit; the others are sent to its summary
    "audits.confirm_submit": {"GET": row(LOGIN, 200, 302, 200, 302, 302)},
    # reviewers and admins; the walk sends no reason, so theirs is refused as incomplete (nothing voided)
    "audits.void": {"POST": row(LOGIN, 422, 422, 403, 403, 403)},
    "audits.reopen": {"POST": row(LOGIN, 409, 409, 403, 403, 403)},  # a draft is not locked
    "audits.request_calibration": {"POST": row(LOGIN, 422, 422, 403, 403, 403)},  # no rater named
    # the site head only; the walk's audits are drafts, so the head's sign-off is refused as not yet submitted
    "audits.acknowledge": {"POST": row(LOGIN, 403, 403, 403, 409, 403)},
    # ---------------------------------------------------------------- API
    "api.openapi": {"GET": everyone(200)},
    "api.list_sites": {"GET": logged_in(200, anonymous=401)},
    "api.get_site": {"GET": logged_in(200, anonymous=401)},
    "api.list_checklists": {"GET": logged_in(200, anonymous=401)},
    "api.get_checklist": {"GET": logged_in(200, anonymous=401)},
    "api.list_audits": {"GET": logged_in(200, anonymous=401)},
    "api.get_audit": {"GET": logged_in(200, anonymous=401)},
    "api.create_audit": {"POST": logged_in(422, anonymous=401)},    # empty body
    "api.put_answers": {"PUT": row(401, 200, 403, 200, 403, 403)},
    "api.submit": {"POST": row(401, 422, 403, 422, 403, 403)},
    "api.reopen": {"POST": row(401, 409, 409, 403, 403, 403)},      # a draft is not locked
    "api.void": {"POST": row(401, 422, 422, 403, 403, 403)},        # no reason sent: nothing voided
    "api.upload_photo": {"POST": row(401, 201, 403, 201, 403, 403)},
    "api.get_photo": {"GET": logged_in(200, anonymous=401)},
    "api.delete_photo": {"DELETE": row(401, 204, 403, 204, 403, 403)},
    "api.photo_image": {"GET": logged_in(200, anonymous=401)},
    "api.acknowledge": {"POST": row(401, 403, 403, 403, 409, 403)},    # the site head only; a draft: 409
    "api.request_calibration": {"POST": row(401, 422, 422, 403, 403, 403)},  # no rater named (the form's rules)
    "comparisons_api.site": {"GET": logged_in(200, anonymous=401)},
    "comparisons_api.programme": {"GET": row(401, 200, 200, 403, 403, 403)},
    "agreement_api.site": {"GET": logged_in(200, anonymous=401)},   # calibration pairs: reviewers, admins
    "agreement_api.programme": {"GET": row(401, 200, 200, 403, 403, 403)},   # with rater drift
    "comparisons_api.export": {"GET": row(401, 200, 200, 200, 200, 403)},
    "reports_api.site_report": {"GET": logged_in(200, anonymous=401)},
    "reports_api.programme_report": {"GET": row(401, 200, 200, 403, 403, 403)},
    "reports_api.site_report_docx": {"GET": logged_in(200, anonymous=401)},
    "reports_api.programme_report_docx": {"GET": row(401, 200, 200, 403, 403, 403)},
    "reports_api.audit_record": {"GET": logged_in(409, anonymous=401)},   # whoever sees the audit; a draft: 409
    # ---------------------------------------------------------------- photos (HTML)
    "photos.upload": {"POST": row(LOGIN, 302, 403, 302, 403, 403)},
    "photos.delete": {"POST": row(LOGIN, 302, 403, 302, 403, 403)},
    "photos.image": {"GET": logged_in(200)},
    # ---------------------------------------------------------------- corrective actions
    "actions.index": {"GET": logged_in(200)},
    "actions.new": {"GET": row(LOGIN, 200, 200, 200, 200, 403),
                    "POST": row(LOGIN, 422, 422, 422, 422, 403)},
    "actions.detail": {"GET": logged_in(200)},
    "actions.edit": {"GET": row(LOGIN, 200, 200, 200, 200, 403),
                     "POST": row(LOGIN, 422, 422, 422, 422, 403)},
    "actions.done": {"POST": row(LOGIN, 302, 403, 302, 302, 302)},
    # verify and reopen: auditors' side only; an open action is not ready to verify/reopen (409)
    "actions.verify": {"POST": row(LOGIN, 409, 409, 409, 403, 403)},
    "actions.reopen": {"POST": row(LOGIN, 409, 409, 409, 403, 403)},
    "actions_api.list_actions": {"GET": logged_in(200, anonymous=401)},
    "actions_api.get_action": {"GET": logged_in(200, anonymous=401)},
    "actions_api.create_action": {"POST": row(401, 201, 201, 201, 201, 403)},
    "actions_api.patch_action": {"PATCH": row(401, 200, 403, 200, 200, 200)},   # mark done
    "actions_api.upload_action_photo": {"POST": row(401, 201, 403, 201, 201, 201)},  # who may mark done
}


# The routes that change an audit or its photos, on a draft self-assessment: the site's own people
# (principal, staff) and admins may; a consultant and a reviewer may only read it.
#                                       anonymous  admin reviewer consultant principal staff
SELF_ACCESS: dict[str, dict[str, dict[str, object]]] = {
    "audits.zone": {"GET": logged_in(200), "POST": row(LOGIN, 302, 403, 403, 302, 302)},
    "audits.add_room": {"POST": row(LOGIN, 302, 403, 403, 302, 302)},
    "audits.remove_room": {"POST": row(LOGIN, 302, 403, 403, 302, 302)},
    "audits.submit": {"POST": row(LOGIN, 422, 403, 403, 422, 422)},   # draft with no answers
    "audits.confirm_submit": {"GET": row(LOGIN, 200, 302, 302, 200, 200)},
    "api.put_answers": {"PUT": row(401, 200, 403, 403, 200, 200)},
    "api.submit": {"POST": row(401, 422, 403, 403, 422, 422)},
    "api.upload_photo": {"POST": row(401, 201, 403, 403, 201, 201)},
    "api.delete_photo": {"DELETE": row(401, 204, 403, 403, 204, 204)},
    "photos.upload": {"POST": row(LOGIN, 302, 403, 403, 302, 302)},
    "photos.delete": {"POST": row(LOGIN, 302, 403, 403, 302, 302)},
}
AUDIT_ARGS = {"audit_uuid", "audit_id", "photo_id", "photo_uuid"}

# The routes on a photo, with an action's "after" photo: whoever may mark the action done may
# remove it (until the action is verified); a reviewer only sees it.
#                                       anonymous  admin reviewer consultant principal staff
ACTION_PHOTO_ACCESS: dict[str, dict[str, dict[str, object]]] = {
    "api.delete_photo": {"DELETE": row(401, 204, 403, 204, 204, 204)},
    "photos.delete": {"POST": row(LOGIN, 302, 403, 302, 302, 302)},
}
PHOTO_ARGS = {"photo_id", "photo_uuid"}


def _zone(sw):
    return next(z for z in sw.audit.template.zones if not z.repeats)


def _classroom(sw):
    return next(z for z in sw.audit.template.zones if z.repeats)


# endpoint -> function(site world) -> a valid body (form fields, or JSON under /api/).
BODIES = {
    "audits.zone": lambda sw: {"row_version": 1, f"score-{_zone(sw).items[0].code}": "2"},
    "audits.add_room": lambda sw: {"zone": _classroom(sw).code, "label": "Lớp 9Z"},
    "audits.remove_room": lambda sw: {"zone": _classroom(sw).code, "label": "Lớp 1A"},
    "audits.reopen": lambda sw: {"reason": "Sửa lại"},
    "api.put_answers": lambda sw: {"row_version": 1, "answers": [{"item": _zone(sw).items[0].code, "score": 2}]},
    "api.reopen": lambda sw: {"reason": "Sửa lại"},
    "api.upload_photo": lambda sw: {"id": str(uuid.uuid4()), "file": (io.BytesIO(_jpeg()), "p.jpg")},
    "photos.upload": lambda sw: {"file": (io.BytesIO(_jpeg()), "p.jpg")},
    "checklists.publish": lambda sw: {"base_version": 1},
    "actions.done": lambda sw: {"note": "Đã dọn xong"},
    "actions.reopen": lambda sw: {"reason": "Chưa đạt"},
    "actions_api.create_action": lambda sw: {
        "id": str(uuid.uuid4()), "title": "Dán nhãn tủ", "due_date": "2023-09-01",
        "audit": str(sw.audit.uuid), "item": _zone(sw).items[0].code},
    "actions_api.patch_action": lambda sw: {"status": "done", "note": "Đã dọn xong"},
    "actions_api.upload_action_photo": lambda sw: {"id": str(uuid.uuid4()), "file": (io.BytesIO(_jpeg()), "p.jpg")},
}


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


# ---------------------------------------------------------------- the routes
@dataclass(frozen=True)
class Route:
    endpoint: str
    rule: str
    method: str
    arguments: frozenset[str]

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")

    def __str__(self) -> str:
        return f"{self.method} {self.rule}"


def _routes() -> list[Route]:
    app = create_app({"TESTING": True, "SECRET_KEY": "walk", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return sorted((Route(r.endpoint, r.rule, m, frozenset(r.arguments))
                   for r in app.url_map.iter_rules() if r.endpoint not in UNTESTED_ENDPOINTS
                   for m in sorted(r.methods - UNTESTED_METHODS)),
                  key=lambda r: (r.endpoint, r.rule, r.method))


ROUTES = _routes()
AUDIT_ROUTES = [r for r in ROUTES if r.arguments & AUDIT_ARGS]
PHOTO_ROUTES = [r for r in ROUTES if r.arguments & PHOTO_ARGS]


# ---------------------------------------------------------------- the world
@dataclass
class SiteWorld:
    site: Site
    audit: Audit
    photo: Photo
    action: CorrectiveAction
    self_audit: Audit | None = None
    self_photo: Photo | None = None
    action_photo: Photo | None = None

    def self_assessment(self) -> SiteWorld:
        """The same site seen through its self-assessment (and that audit's photo)."""
        return SiteWorld(self.site, self.self_audit, self.self_photo, self.action)

    def with_action_photo(self) -> SiteWorld:
        """The same site, its photo being the action's "after" photo."""
        return SiteWorld(self.site, self.audit, self.action_photo, self.action)

    def photos(self) -> list[Photo]:
        return [self.photo, self.self_photo, self.action_photo]


@dataclass
class World:
    a: SiteWorld
    b: SiteWorld
    users: dict[str, User]
    target: User          # a user to edit, with a token to revoke
    token: ApiToken
    upload: ChecklistUpload  # a revised school checklist, not published yet


def _site_world(code: str, consultant: User, db) -> SiteWorld:
    site = make_site(code=code)
    consultant.assigned_sites.append(site)
    audit = make_audit(site, consultant)
    zone = next(z for z in audit.template.zones if not z.repeats)
    photo = _photo(audit, consultant, f"{code}/")
    action = CorrectiveAction(uuid=uuid.uuid4(), site_id=site.id, audit_id=audit.id,
                              item_id=zone.items[0].id, title="Dọn kho", created_by_id=consultant.id)
    db.session.add_all([photo, action])
    db.session.flush()
    action_photo = Photo(uuid=uuid.uuid4(), action_id=action.id, site_id=site.id, sha256="1" * 64,
                         width=1, height=1, thumb_width=1, thumb_height=1, source_format="JPEG",
                         display_key=f"{code}/action-{action.uuid}/d.jpg",
                         thumb_key=f"{code}/action-{action.uuid}/t.jpg", uploaded_by_id=consultant.id)
    db.session.add(action_photo)
    db.session.flush()
    return SiteWorld(site, audit, photo, action, action_photo=action_photo)


def _add_self_assessment(sw: SiteWorld, staff: User, db) -> None:
    sw.self_audit = make_audit(sw.site, staff, kind="self")
    sw.self_photo = _photo(sw.self_audit, staff, f"{sw.site.code}/self-")
    db.session.add(sw.self_photo)
    db.session.flush()


def _photo(audit: Audit, user: User, prefix: str) -> Photo:
    zone = next(z for z in audit.template.zones if not z.repeats)
    return Photo(uuid=uuid.uuid4(), audit_id=audit.id, site_id=audit.site_id, item_id=zone.items[0].id,
                 sha256="0" * 64, width=1, height=1, thumb_width=1, thumb_height=1,
                 source_format="JPEG", display_key=f"{prefix}d.jpg", thumb_key=f"{prefix}t.jpg",
                 uploaded_by_id=user.id)


@pytest.fixture
def world(db, media_root) -> World:
    consultant = make_user("consultant")
    a = _site_world("SITE-A", consultant, db)
    b = _site_world("SITE-B", consultant, db)
    consultant.assigned_sites.remove(b.site)
    users = {"consultant": consultant,
             **{role: make_user(role, site=a.site) for role in ("admin", "reviewer", "principal", "staff")}}
    _add_self_assessment(a, users["staff"], db)
    _add_self_assessment(b, make_user("staff", site=b.site), db)
    for sw in (a, b):  # the photos' files, so an allowed image request can answer 200
        for key in (key for photo in sw.photos() for key in (photo.display_key, photo.thumb_key)):
            path = media_root / key
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\xff\xd8\xff\xd9")
    target = make_user("staff", site=a.site)
    token, _secret = _issue(target)
    upload = _revised_checklist(users["admin"], db)
    seed_pilot_calendar()
    db.session.commit()
    return World(a, b, users, target, token, upload)


@cache
def _revision_bytes() -> bytes:
    """The school checklist with one item reworded (made once: the walk makes hundreds of worlds)."""
    content = template_content(template_for("school"))
    content.zones[0]["items"][0]["text"]["en"] += " (revised)"
    return write_workbook(content)


def _revised_checklist(admin: User, db) -> ChecklistUpload:
    data = _revision_bytes()
    upload = ChecklistUpload(key="school-5s", filename="school-5s.xlsx", size=len(data), xlsx=data,
                             sha256=hashlib.sha256(data).hexdigest(), uploaded_by_id=admin.id)
    db.session.add(upload)
    db.session.flush()
    return upload


def _issue(user):
    from fivs.auth.services import issue_token

    return issue_token(user, "tablet")


def url_for_route(route: Route, world: World, sw: SiteWorld) -> str:
    template = sw.audit.template
    values = {
        "code": sw.site.code, "audit_uuid": sw.audit.uuid, "audit_id": sw.audit.uuid,
        "photo_id": sw.photo.uuid, "photo_uuid": sw.photo.uuid, "variant": "display",
        "action_id": sw.action.uuid, "action_uuid": sw.action.uuid,
        "zone_code": _zone(sw).code, "key": template.key, "version": template.version,
        "lang": "en", "what": "answers", "fmt": "csv",
        "user_id": world.target.id, "token_id": world.token.id, "site_id": sw.site.id,
        "upload_id": world.upload.id, "window_id": db.session.scalar(select(func.min(RoundWindow.id))),
    }
    missing = route.arguments - values.keys()
    if missing:
        pytest.fail(f"no value for {sorted(missing)} in {route}: add it to url_for_route() "
                    "in tests/test_access_walk.py")
    return _ARGUMENT.sub(lambda m: str(values[m.group(1)]), route.rule)


# ---------------------------------------------------------------- the walk
def call(client, route: Route, sw: SiteWorld, world: World, bearer: str | None):
    url = url_for_route(route, world, sw)
    if route.method == "GET":
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        return client.open(url, headers=headers)
    body = BODIES[route.endpoint](sw) if route.endpoint in BODIES else {}
    if route.api:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        if any(isinstance(v, tuple) for v in body.values()):  # a file: multipart
            return client.open(url, method=route.method, headers=headers, data=body)
        return client.open(url, method=route.method, headers=headers, json=body)
    return client.open(url, method=route.method, data={**body, "csrf_token": client.csrf()})


def outcome(resp) -> object:
    if resp.status_code == 302 and "/auth/login" in resp.headers.get("Location", ""):
        return LOGIN
    return resp.status_code


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_every_route_answers_every_role_as_the_table_says(client, db, world, route, role):
    walk(client, db, world, route, role, _expected(ACCESS, route, role), own=world.a, other=world.b)


# The same routes again with other objects of the same sites: (the routes, the table whose rows
# replace ACCESS's there, how a site's world shows those objects).
VARIANTS = {
    "self-assessment": (AUDIT_ROUTES, SELF_ACCESS, SiteWorld.self_assessment),
    "action photo": (PHOTO_ROUTES, ACTION_PHOTO_ACCESS, SiteWorld.with_action_photo),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("variant", "route"), [(v, r) for v, (routes, _t, _s) in VARIANTS.items() for r in routes],
                         ids=str)
def test_every_route_on_other_objects_answers_as_the_tables_say(client, db, world, variant, route, role):
    _routes, table, seen_through = VARIANTS[variant]
    table = table if route.endpoint in table else ACCESS
    walk(client, db, world, route, role, _expected(table, route, role),
         own=seen_through(world.a), other=seen_through(world.b))


def _expected(table, route: Route, role: str):
    if route.endpoint not in table:
        pytest.fail(f"add {route.endpoint} to the access table (tests/test_access_walk.py)")
    methods = table[route.endpoint]
    if route.method not in methods:
        pytest.fail(f"add {route.method} of {route.endpoint} to the access table "
                    "(tests/test_access_walk.py)")
    return methods[route.method][role]


def walk(client, db, world: World, route: Route, role: str, expected, *, own: SiteWorld, other: SiteWorld):
    """Call the route as `role` on the other site's objects (refused, nothing changed), then on
    its own site's objects, and compare the statuses with `expected`."""
    bearer = None
    if role != "anonymous":
        user = world.users[role]
        if route.api:
            bearer = token_for(user)
            client.get("/api/v1/sites", headers={"Authorization": f"Bearer {bearer}"})  # its once-a-minute "last used"
        else:
            assert login(client, user.username, PASSWORD).status_code == 302
    scoped = route.arguments & SITE_SCOPED_ARGS
    if scoped:  # another site's objects first: refused, they change nothing at all
        media_root = Path(client.application.config["MEDIA_ROOT"])
        before = database_state(db), media_state(media_root)
        got = outcome(call(client, route, other, world, bearer))
        assert got in expected_on_other_site(role, expected), \
            f"{role} {route} on another site's objects: got {got}, own site {expected}"
        if got in (LOGIN, 401, 403, 404):
            assert (database_state(db), media_state(media_root)) == before, \
                f"{role} {route} on another site's objects was refused ({got}) but changed something"
    what = "an action photo" if own.photo.action_id else f"a {own.audit.kind} audit"  # before it is deleted
    got = outcome(call(client, route, own, world, bearer))
    assert got == expected, f"{role} {route} ({what}): got {got}, the table says {expected}"


def expected_on_other_site(role: str, own_site) -> set:
    if role not in SCOPED_ROLES or own_site in (LOGIN, 401):
        return {own_site}
    # Refused by role (403), the object may or may not have been looked at first: either way
    # nothing about it leaks. Allowed by role, another site's object is always a 404.
    return {403, 404} if own_site == 403 else {404}


def test_the_access_table_lists_only_existing_routes():
    existing = {(r.endpoint, r.method) for r in ROUTES}
    stale = sorted((e, m) for e, methods in ACCESS.items() for m in methods if (e, m) not in existing)
    assert not stale, f"remove these from the access table: {stale}"
    on_audits = {(r.endpoint, r.method) for r in AUDIT_ROUTES}
    stale = sorted((e, m) for e, methods in SELF_ACCESS.items() for m in methods if (e, m) not in on_audits)
    assert not stale, f"remove these from SELF_ACCESS (no such route on an audit or a photo): {stale}"
    on_photos = {(r.endpoint, r.method) for r in PHOTO_ROUTES}
    stale = sorted((e, m) for e, methods in ACTION_PHOTO_ACCESS.items() for m in methods if (e, m) not in on_photos)
    assert not stale, f"remove these from ACTION_PHOTO_ACCESS (no such route on a photo): {stale}"


def test_the_walk_covers_object_level_checks():
    """The objects the issue names (audits and their answers, photos, site reports and exports,
    actions) are reached through these arguments, each walked with another site's object too."""
    walked = {arg for r in ROUTES for arg in r.arguments}
    assert {"audit_uuid", "audit_id", "photo_id", "photo_uuid", "action_uuid", "action_id", "code"} <= walked
    assert walked & SITE_SCOPED_ARGS == SITE_SCOPED_ARGS
