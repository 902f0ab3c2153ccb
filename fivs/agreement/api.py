"""JSON endpoints of rater agreement under /api/v1 (fivs.agreement.services has the figures).

A site's self-assessment pairs are for whoever sees the site (another site is a 404); its
calibration pairs, and the programme with per-rater drift, for reviewers and admins only.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from fivs.agreement.services import programme_agreement, site_agreement
from fivs.api.auth import api_user, authenticate, challenge
from fivs.api.representations import json_response
from fivs.audits.queries import hidden_audits
from fivs.auth import policy
from fivs.auth.access import get_site_or_404
from fivs.extensions import csrf
from fivs.services_errors import PermissionDenied

agreement_api_bp = Blueprint("agreement_api", __name__, url_prefix="/api/v1")
csrf.exempt(agreement_api_bp)  # read-only GETs
agreement_api_bp.before_request(authenticate)
agreement_api_bp.after_request(challenge)


@agreement_api_bp.get("/sites/<code>/agreement")
def site(code: str):
    site, user = get_site_or_404(code), api_user()
    return json_response(site_agreement(site, request.args.get("phase"),
                                        with_calibration=policy.can_see_rater_drift(user),
                                        hidden=hidden_audits(user)))


@agreement_api_bp.get("/programme/agreement")
def programme():
    user = api_user()
    if not policy.can_see_programme(user):
        raise PermissionDenied(_("Only reviewers and admins can see the programme's rater agreement."))
    return json_response(programme_agreement(request.args.get("kind", "all"),
                                             with_drift=policy.can_see_rater_drift(user),
                                             hidden=hidden_audits(user)))
