"""Serves the service worker from the site root so it may control every page of the app."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, send_from_directory

offline_bp = Blueprint("offline", __name__)


@offline_bp.get("/sw.js")
def service_worker():
    response = send_from_directory(os.path.join(current_app.static_folder, "js"), "sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.cache_control.no_cache = True  # a new version of the worker is picked up at once
    return response
