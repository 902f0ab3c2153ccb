"""Size bounds of the reports with real camera photos (../shared/testdata/photos): the PDFs embed the print
derivative (800 px, JPEG 75), so the 12-site programme report with 4 before/after pairs per site stays
<= 8 MB and a site report with 4 pairs <= 1.5 MB (they were ~46 MB and ~3.4 MB with the display images)."""
from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from PIL import Image

from fivs.photos.files import get_storage
from fivs.photos.models import Photo
from fivs.photos.services import attach_photo, print_file, print_key
from tests.factories import answer_all, make_audit, make_site, make_user

pytestmark = pytest.mark.media_backends  # the folder and S3 (moto)

SITES = 12
PAIRS = 4
PROGRAMME_MAX = 8 * 1024 * 1024
SITE_MAX = 1.5 * 1024 * 1024
SOURCES = ("Landscape_1.jpg", "Landscape_3.jpg", "Portrait_6.jpg", "Landscape_0.jpg",
           "Portrait_8.jpg", "Landscape_5.jpg", "Portrait_2.jpg", "Landscape_7.jpg")


@pytest.fixture
def programme_with_photos(db, photos_dir, media):
    """12 sites with both rounds; each has 4 items photographed in both. The first site's 8 photos go
    through the real pipeline; every other photo row gets its own copy of one of those files (so each is
    embedded on its own, as real photos would be)."""
    consultant = make_user("admin")  # audits every site (a consultant audit)
    storage = get_storage()
    originals: list[Photo] = []
    for n in range(SITES):
        site = make_site(kind="school" if n < 10 else "clinic", code=f"SZ{n:02d}", name=f"Cơ sở Hiệp Hòa {n}")
        for phase, when in (("baseline", date(2023, 3, 1)), ("final", date(2024, 3, 1))):
            audit = make_audit(site, consultant, phase=phase, audit_date=when)
            answer_all(audit, 2 if phase == "baseline" else 3)
            items = [a for a in sorted(audit.answers, key=lambda a: a.id)][:PAIRS]
            for k, answer in enumerate(items):
                if n == 0:
                    source = SOURCES[(k * 2 + (phase == "final")) % len(SOURCES)]
                    photo, _new = attach_photo(audit, consultant, (photos_dir / "orientation" / source).read_bytes(),
                                               photo_uuid=uuid.uuid4(), item_code=answer.item.code, room=answer.room)
                    originals.append(photo)
                    continue
                model = originals[(k * 2 + (phase == "final")) % len(originals)]
                photo_uuid = uuid.uuid4()
                keys = {v: f"{site.code}/{audit.uuid}/{photo_uuid}-{v}.jpg" for v in ("display", "thumb")}
                for variant, key in keys.items():
                    storage.put(key, storage.read(getattr(model, f"{variant}_key")))
                # Its print derivative too, made unique by a small patch of colour: a report embeds an image
                # with the same pixels once (ReportLab names images by their pixels), and real photos differ.
                storage.put(print_key(keys["display"]), _marked(print_file(model), (n * 20, k * 60, len(phase) * 20)))
                db.session.add(Photo(uuid=photo_uuid, audit_id=audit.id, site_id=site.id, item_id=answer.item_id,
                                     room=answer.room, sha256=f"{n:032d}{k:016d}{len(phase):016d}",
                                     width=model.width, height=model.height, thumb_width=model.thumb_width,
                                     thumb_height=model.thumb_height, source_format="JPEG",
                                     display_key=keys["display"], thumb_key=keys["thumb"]))
            audit.status = "submitted"
            audit.submitted_at = audit.updated_at
        db.session.commit()  # the pipeline's files are written on commit: the copies read them
    return originals


def _marked(jpeg: bytes, colour: tuple[int, int, int]) -> bytes:
    im = Image.open(io.BytesIO(jpeg))
    im.paste(colour, (0, 0, 16, 16))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=75)
    return out.getvalue()


def test_programme_and_site_reports_stay_small_enough_to_email(client, login_as, programme_with_photos):
    login_as("reviewer")
    assert max(max(p.width, p.height) for p in programme_with_photos) > 1000  # real, large display images

    programme = client.get("/api/v1/programme/report.pdf")
    site = client.get("/api/v1/sites/SZ00/report.pdf")

    assert programme.status_code == 200 and site.status_code == 200
    assert programme.data.count(b"/Subtype /Image") >= SITES * PAIRS * 2  # every photo is in it
    assert len(programme.data) <= PROGRAMME_MAX, f"{len(programme.data) / 1e6:.1f} MB"
    assert site.data.count(b"/Subtype /Image") >= PAIRS * 2
    assert len(site.data) <= SITE_MAX, f"{len(site.data) / 1e6:.2f} MB"
