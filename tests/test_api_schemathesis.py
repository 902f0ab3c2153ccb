"""Property-based run of schemathesis against the OpenAPI document, in-process (WSGI).

Every operation gets the document's examples, schemathesis' coverage cases and up to
MAX_EXAMPLES generated cases (valid and invalid), derandomized so CI is repeatable, each sent
twice: with an admin's bearer token (every site) and with a consultant's (assigned to the example
site only), over the pilot sites with one audit and one photo (the documented example ids).
Checks: no 5xx, every status documented, content types, bodies and headers as documented.
"""
from __future__ import annotations

import contextvars
import uuid

import pytest
from hypothesis import HealthCheck, settings
import schemathesis
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)
from schemathesis.config import SchemathesisConfig

from fivs.api.openapi import EXAMPLE_AUDIT_ID, EXAMPLE_PHOTO_ID, EXAMPLE_SITE, openapi_document
from fivs.auth.services import get_site_by_code
from fivs.photos.services import attach_photo
from fivs.sites.services import seed_pilot_sites
from tests.api_support import token_for
from tests.factories import answer_all, make_audit, make_user

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


def own_app_context(app):
    """Each request in a fresh context, so it pushes its own app context (own db session, own g),
    as in production, instead of sharing the test's."""

    def wsgi(environ, start_response):
        return contextvars.Context().run(app, environ, start_response)

    return wsgi


CONFIG = SchemathesisConfig.from_dict({
    "seed": 20230510,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(openapi_document(), config=CONFIG)


@pytest.fixture(params=["admin", "consultant"])
def seeded(request, app, db, photos_dir) -> dict:
    """The app (each request in its own app context) and the bearer header of an admin, or of a
    consultant assigned to the example site."""
    seed_pilot_sites()
    admin = make_user("admin")
    caller = admin if request.param == "admin" else make_user(
        "consultant", assigned=[get_site_by_code(EXAMPLE_SITE)])
    audit = make_audit(get_site_by_code(EXAMPLE_SITE), admin, rooms=("Lớp 3A",))
    audit.uuid = uuid.UUID(EXAMPLE_AUDIT_ID)
    answer_all(audit, lambda item: None if item.position % 3 == 0 else item.position % 5)
    jpeg = (photos_dir / "orientation" / "Landscape_1.jpg").read_bytes()
    attach_photo(audit, admin, jpeg, photo_uuid=uuid.UUID(EXAMPLE_PHOTO_ID), item_code="CLS-S1-01",
                 room="Lớp 3A")
    return {"app": own_app_context(app), "headers": {"Authorization": f"Bearer {token_for(caller)}"}}


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # data may pile up: fine
def test_api_conforms_to_its_document(case, seeded):
    case.call_and_validate(checks=CHECKS, **seeded)
