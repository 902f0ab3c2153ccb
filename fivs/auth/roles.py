"""The five roles, named once. Imported by the user model and by fivs.auth.policy (which re-exports them)."""
from __future__ import annotations

ADMIN = "admin"
REVIEWER = "reviewer"      # the Chi cục TĐC: every site, follows the rounds
CONSULTANT = "consultant"  # scores the sites they are assigned to
PRINCIPAL = "principal"    # the head of one school or clinic
STAFF = "staff"            # staff of one site: self-assessments

ROLES = (ADMIN, REVIEWER, CONSULTANT, PRINCIPAL, STAFF)
ALL_SITES_ROLES = (ADMIN, REVIEWER)
SITE_BOUND_ROLES = (PRINCIPAL, STAFF)
