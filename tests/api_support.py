"""Helpers for the API tests: a client that sends a bearer token and checks EVERY response
against the OpenAPI document (status documented, content type, JSON schema)."""
from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from fivs.api.openapi import openapi_document
from fivs.auth.services import issue_token
from fivs.extensions import db

PREFIX = "/api/v1"
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def doc_path(rule: str) -> str:
    """Flask rule -> OpenAPI path: /api/v1/checklists/<key>/<int:version> -> /checklists/{key}/{version}."""
    return _CONVERTER.sub(r"{\1}", rule[len(PREFIX):])


def token_for(user, name: str = "test") -> str:
    _row, token = issue_token(user, name)
    db.session.commit()
    return token


class ApiClient:
    """`api.get("/sites")` etc.: bearer token of `api.user`, every response validated."""

    def __init__(self, client) -> None:
        self.client = client
        self.token: str | None = None
        self.user = None
        self.document = openapi_document()
        self.validated: set[tuple[str, str, int]] = set()  # (method, doc path, status)

    def login(self, user) -> ApiClient:
        self.user, self.token = user, token_for(user)
        return self

    def open(self, method: str, path: str, *, token: str | None = "default", headers=None, **kw):
        headers = dict(headers or {})
        token = self.token if token == "default" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        resp = self.client.open(PREFIX + path, method=method, headers=headers, **kw)
        self.check(method, PREFIX + path.split("?")[0], resp)
        return resp

    def get(self, path, **kw):
        return self.open("GET", path, **kw)

    def post(self, path, **kw):
        return self.open("POST", path, **kw)

    def put(self, path, **kw):
        return self.open("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.open("DELETE", path, **kw)

    # ------------------------------------------------------------ validation against the document
    def check(self, method: str, path: str, resp) -> None:
        assert resp.mimetype != "text/html", f"HTML under /api/: {method} {path}"
        assert resp.mimetype or resp.status_code in (204, 304), (method, path, resp.status_code)
        adapter = self.client.application.url_map.bind("localhost")
        try:
            rule, _args = adapter.match(path, method=method, return_rule=True)
        except Exception:  # no such route (404/405): still the JSON error shape
            assert resp.status_code in (404, 405), (method, path, resp.status_code)
            self._validate(resp.get_json(), {"$ref": "#/components/schemas/Error"})
            return
        operation = self.document["paths"][doc_path(rule.rule)][method.lower()]
        documented = operation["responses"].get(str(resp.status_code))
        assert documented, f"{method} {rule.rule} answered {resp.status_code}, not in the document"
        content = documented.get("content", {})
        if content:
            assert resp.mimetype in content, (method, path, resp.mimetype, list(content))
            schema = content[resp.mimetype].get("schema")
            if resp.mimetype == "application/json" and schema:
                self._validate(resp.get_json(), schema)
        self.validated.add((method, doc_path(rule.rule), resp.status_code))

    def _validate(self, instance, schema: dict) -> None:
        root = {**schema, "components": self.document["components"]}
        errors = sorted(Draft202012Validator(root, format_checker=FormatChecker()).iter_errors(instance),
                        key=lambda e: list(e.path))
        assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


@pytest.fixture
def api(client):
    return ApiClient(client)
