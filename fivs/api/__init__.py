"""/api/v1: the JSON API (views.py), its authentication (auth.py), request parsing (schemas.py),
representations (representations.py) and OpenAPI document (openapi.py).

Another feature's /api/v1 blueprint reuses `auth.authenticate` (before_request), `auth.challenge`
(after_request) and `csrf.exempt`, and describes its routes in openapi.py: a test fails for any
/api/v1 route the document does not describe.
"""
