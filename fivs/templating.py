"""Jinja helpers: current language, percentages, S and band names and dates for the locale."""
from __future__ import annotations

from flask import Flask

from fivs import labels, scoring
from fivs.auth import policy
from fivs.i18n import current_lang, format_day, format_moment


def register(app: Flask) -> None:
    @app.context_processor
    def _globals():
        return {"lang": current_lang(), "S_KEYS": scoring.S_KEYS, "policy": policy, "role_label": labels.role_label,
                "kappa_missing_label": labels.kappa_missing_label, "site_place": labels.site_place,
                "round_state_label": labels.round_state_label,
                "site_kind_label": labels.site_kind_label}

    @app.template_filter("pct")
    def _pct(value):
        return scoring.format_pct(value, current_lang())

    @app.template_filter("band")
    def _band(value):
        return scoring.band(value) or "none"

    @app.template_filter("band_label")
    def _band_label(value):
        return labels.band_label(value) or "—"

    @app.template_filter("s_label")
    def _s_label(key):
        return labels.s_label(key)

    app.add_template_filter(format_day, "d")
    app.add_template_filter(format_moment, "dt")
