"""The offline-first pieces served by the app: the service worker route and the pending-changes bar."""
from __future__ import annotations

from tests.factories import make_audit, make_site


def test_service_worker_is_served_from_the_root_for_the_whole_app(client):
    resp = client.get("/sw.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in resp.headers["Cache-Control"]
    assert b"caches.open" in resp.data


def test_zone_page_loads_the_queue_and_photo_scripts_and_the_bar(client, db, login_as):
    site = make_site()
    consultant = login_as("consultant", assigned=[site])
    audit = make_audit(site, consultant)
    db.session.commit()
    zone = next(z for z in audit.template.zones if not z.repeats)
    html = client.get(f"/audits/{audit.uuid}/zones/{zone.code}").get_data(as_text=True)
    assert 'src="/static/js/offline-queue.js"' in html
    assert html.index("offline-queue.js") < html.index("autosave.js") < html.index("photo-upload.js")
    assert "data-offline-bar hidden" in html and 'data-sw="/sw.js"' in html
    assert "thay đổi đang chờ gửi" in html and "Gửi ngay" in html


def test_logged_out_pages_have_no_queue(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert "offline-queue.js" not in html and "data-offline-bar" not in html
