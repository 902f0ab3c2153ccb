"""JSON endpoints of the programme calendar and the board, under /api/v1.

The calendar (the windows) is for everyone logged in (a consultant plans by it); the board, with
every site's rounds, state and lateness, for reviewers and admins.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from fivs.api.auth import api_user, authenticate, challenge
from fivs.api import schemas
from fivs.api.representations import json_response, page_dict
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.calendar.board import board_page, programme_board
from fivs.calendar.services import windows
from fivs.extensions import csrf
from fivs.services_errors import PermissionDenied
from fivs.timeutil import local_today

calendar_api_bp = Blueprint("calendar_api", __name__, url_prefix="/api/v1")
csrf.exempt(calendar_api_bp)  # read-only GETs; authenticate() checks cookie requests' CSRF
calendar_api_bp.before_request(authenticate)
calendar_api_bp.after_request(challenge)


def window_dict(window) -> dict:
    return {"id": window.id, "phase": window.phase, "year": window.year,
            "opens": window.opens.isoformat(), "closes": window.closes.isoformat()}


@calendar_api_bp.get("/programme/calendar")
def calendar():
    today = local_today()
    return json_response({"today": today.isoformat(),
                          "windows": [{**window_dict(w), "closed": w.closes < today} for w in windows()]})


@calendar_api_bp.get("/programme/board")
def board():
    user = api_user()
    if not policy.can_see_programme(user):
        raise PermissionDenied(_("Only reviewers and admins can see the programme board."))
    filters, state, paging = schemas.board_filters(request.args)
    board = programme_board(policy.visible_site_ids(user), local_today(), hidden_audits(user))
    page = board_page(board, paging["page"], filters, state, per_page=paging["per_page"])
    return json_response({**board.as_dict(page), **page_dict(page, ".board")})
