"""The tablet's offline queue and a photo deleted meanwhile: the server answers its replay 410
(photo_deleted), the queue drops the entry and says so, and the photo stays deleted."""
from __future__ import annotations

import base64
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from fivs.auth.services import find_user, get_site_by_code
from fivs.extensions import db
from fivs.photos.models import DeletedPhoto, Photo
from fivs.photos.services import attach_photo, delete_photo
from tests.conftest import PHOTOS
from tests.factories import make_audit

pytestmark = pytest.mark.browser


def test_a_queued_photo_deleted_meanwhile_is_dropped_and_said(page, live_app, log_in, T, watch, base_url):
    jpeg = (PHOTOS / "orientation" / "Landscape_1.jpg").read_bytes()
    with live_app.app_context():
        consultant = find_user("consultant")
        audit = make_audit(get_site_by_code("TH-LUCNAM"), consultant, phase="periodic", audit_date=date(2023, 8, 1))
        photo_id = uuid.uuid4()
        photo, _ = attach_photo(audit, consultant, jpeg, photo_uuid=photo_id)
        db.session.commit()
        delete_photo(photo, find_user("admin"))  # a colleague deletes it while the tablet is offline
        db.session.commit()
        audit_path = f"/api/v1/audits/{audit.uuid}"
    watch.refused.add((f"{base_url}{audit_path}/photos", 410))
    log_in("consultant")
    page.evaluate("""([user, audit, id, data]) => new Promise((resolve, reject) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const open = indexedDB.open("fivs-offline", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("queue", {keyPath: "key"});
        open.onsuccess = () => {
          const tx = open.result.transaction("queue", "readwrite");
          tx.objectStore("queue").put({key: "photo|" + id, kind: "photo", user, audit, at: Date.now(),
            photo: {id, item: "", zone_instance: "", name: "anh.jpg", blob: new Blob([bytes], {type: "image/jpeg"})}});
          tx.oncomplete = () => { open.result.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      })""", [page.locator("[data-offline-bar]").get_attribute("data-user"), audit_path, str(photo_id),
              base64.b64encode(jpeg).decode()])
    page.reload()  # every page load sends what is waiting
    page.evaluate("() => window.fivsQueue.drain()")
    problem = page.locator("[data-offline-problem]")
    assert problem.text_content() == T("A waiting photo was not sent: someone deleted it meanwhile, and it stays "
                                       "deleted.")
    assert page.evaluate("() => window.fivsQueue.waiting()") == 0
    assert page.locator("[data-offline-discard]").is_hidden()  # nothing is left to discard
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Photo).where(Photo.uuid == photo_id)) == 0
        assert db.session.get(DeletedPhoto, photo_id) is not None
