"""Weak links (issue 26): photos sized for their use at capture, uploads that survive a dropped
connection, and the order in which waiting changes go.

The drop tests put tests/netproxy.py between Chromium (at 800×1280, the tablet) and the live app and
cut the connection in the middle of a request; the browser's own errors for the cut request (and
its retries while the link is down) are expected there, nothing else.
"""
from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from fivs.audits.models import Audit
from fivs.extensions import db
from fivs.photos.models import Photo
from tests.browser.conftest import VIEWPORTS, Watch
from tests.browser.test_tablet import (PHOTOS, answers_in_db, attach_photo, photos_in_db, score_zone, start_audit,
                                       zones_of)
from tests.netproxy import WeakLink
from tests.test_photo_pipeline import jpeg_segments

pytestmark = pytest.mark.browser

SITES = {"portrait": "TH-SONDONG", "landscape": "TH-YENTHE"}
DROP_SITE = "TH-HIEPHOA"


def camera_photo(tmp_path: Path) -> Path:
    """A 12 MP camera JPEG stored sideways (3000×4000, EXIF orientation 6: upright it is 4000×3000)
    with GPS and a capture time in its EXIF."""
    source = Image.open(PHOTOS / "Landscape_6.jpg")
    exif = source.getexif()
    exif.get_ifd(0x8825).update({1: "N", 2: (21.0, 16.0, 23.4), 3: "E", 4: (106.0, 11.0, 41.2)})
    exif.get_ifd(0x8769)[0x9003] = "2026:11:03 08:15:00"
    path = tmp_path / "camera.jpg"
    source.resize((3000, 4000)).save(path, quality=92, exif=exif.tobytes())
    return path


def open_first_zone(page, live_app, T, code: str):
    audit_uuid = start_audit(page, T, code, "periodic")
    zone = next(z for z in zones_of(live_app, audit_uuid) if not z.repeats)
    page.get_by_role("link", name=re.compile(re.escape(zone.name("vi")))).first.click()
    page.get_by_role("heading", name=zone.name("vi")).wait_for()
    return audit_uuid, zone


# ---------------------------------------------------------------- sized at capture
def test_a_camera_photo_arrives_downsized_upright_and_without_metadata(page, live_app, log_in, T, viewport,
                                                                       tmp_path):
    log_in("consultant")
    audit_uuid, zone = open_first_zone(page, live_app, T, SITES[viewport])
    bound = page.locator("form[data-autosave]").get_attribute("data-photo-max-px")
    assert bound == str(live_app.config["PHOTO_MAX_PX"]) == "1600"  # the setting, handed to the page
    camera = camera_photo(tmp_path)
    uploads = len(live_app.uploads)
    attach_photo(page, zone.items[0], camera, T)
    page.get_by_role("status").filter(has_text=T("Photo sent.")).wait_for()
    [travelled] = live_app.uploads[uploads:]
    image = Image.open(io.BytesIO(travelled))
    assert image.format == "JPEG" and image.size == (1600, 1200)  # the long side at the bound, upright
    assert len(image.getexif()) == 0  # no EXIF at all: no orientation, no GPS, no capture time
    app_segments = [(marker, payload[:4]) for marker, payload in jpeg_segments(travelled) if 0xE1 <= marker <= 0xEF]
    # Nothing of the camera's: no EXIF (APP1), no XMP; Chromium's canvas only tags its own sRGB profile.
    assert app_segments in ([], [(0xE2, b"ICC_")])
    assert b"Exif" not in travelled[:65536] and b"2026:11:03" not in travelled
    assert len(travelled) < camera.stat().st_size / 5
    [photo] = photos_in_db(live_app, audit_uuid)
    assert (photo.width, photo.height) == (1600, 1200)
