"""An admin revises a checklist in Chromium: download the XLSX, upload a broken revision (problems by
sheet and row), upload the corrected one, read the diff and a zone page's preview, publish it as
version 2. At 800×1280 and 1280×800, with no sideways scrolling. Screenshots: artifacts/screenshots/.
"""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from fivs.checklists.models import ChecklistTemplate, ChecklistUpload
from fivs.extensions import db

pytestmark = pytest.mark.browser

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEW_TEXT = "Trong lớp không còn bàn ghế hỏng hoặc lung lay (đã sửa)."


@pytest.fixture
def revision_undone(live_app):
    """What the test publishes goes again: the other browser tests audit with version 1."""
    yield
    with live_app.app_context():
        db.session.execute(delete(ChecklistUpload))
        for template in db.session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.version > 1)):
            db.session.delete(template)
        db.session.commit()


def no_sideways_scrolling(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def edited(data: bytes, edit) -> bytes:
    book = load_workbook(io.BytesIO(data))
    edit(book["items"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def reword_and_remove(items) -> None:
    items["D2"] = NEW_TEXT          # text_vi of the first item
    items.delete_rows(3)            # the second item goes


def upload(page, T, data: bytes, name: str) -> None:
    page.get_by_label(T("Revised checklist (XLSX workbook)")).set_input_files(
        {"name": name, "mimeType": XLSX, "buffer": data})
    page.get_by_role("button", name=T("Upload and check")).click()


def test_admin_uploads_a_revision_reads_the_diff_and_publishes(page, log_in, T, shot, watch, base_url,
                                                               revision_undone):
    log_in("admin")
    page.goto("/checklists/school-5s/1")
    with page.expect_download() as download:
        page.get_by_role("link", name=T("Download as XLSX")).click()
    original = open(download.value.path(), "rb").read()
    assert download.value.suggested_filename == "school-5s.v1.xlsx"
    page.get_by_role("link", name=T("Upload a revised version")).click()
    page.wait_for_url(re.compile(r"/checklists/school-5s/upload$"))
    no_sideways_scrolling(page)
    shot(page, "upload-form")

    # a broken revision: every problem listed by sheet and row, nothing kept
    watch.refused.add((f"{base_url}/checklists/school-5s/upload", 422))
    upload(page, T, edited(original, lambda items: (reword_and_remove(items), items.__setitem__("C4", "seisou"))),
           "school-5s-sai.xlsx")
    problems = page.get_by_role("region", name=T("Problems, by sheet and row"))
    row = problems.get_by_role("row", name=re.compile("seisou"))
    assert row.get_by_role("cell").all_inner_texts()[:2] == ["items", "4"]
    assert T("Unknown S “%(value)s”: use %(allowed)s.", value="seisou",
             allowed="seiri, seiton, seiso, seiketsu, shitsuke") in row.inner_text()
    assert problems.get_attribute("tabindex") == "0"
    no_sideways_scrolling(page)
    shot(page, "problems")

    # the corrected revision: the diff against version 1
    upload(page, T, edited(original, reword_and_remove), "school-5s-sua.xlsx")
    page.wait_for_url(re.compile(r"/checklists/school-5s/uploads/\d+$"))
    page.get_by_role("heading", name=T("Differences from version %(version)d", version=1)).wait_for()
    reworded = page.get_by_role("region", name=T("Items reworded"))
    assert NEW_TEXT in reworded.inner_text()
    removed = page.get_by_role("region", name=T("Items removed"))
    assert "CLS-S1-02" in removed.inner_text()
    for region in (reworded, removed):
        assert region.get_attribute("tabindex") == "0"
        assert region.evaluate("node => node.scrollWidth <= node.clientWidth + 1 || "
                               "getComputedStyle(node).overflowX === 'auto'")
    no_sideways_scrolling(page)
    shot(page, "diff")
    reworded.scroll_into_view_if_needed()
    shot(page, "diff-reworded")

    # the zone page as auditors will see it
    page.get_by_role("link", name="Phòng học").click()
    page.get_by_role("group", name=NEW_TEXT).wait_for()
    assert page.get_by_role("group", name=NEW_TEXT).get_by_role("radio").first.is_disabled()
    no_sideways_scrolling(page)
    shot(page, "preview")
    page.get_by_role("link", name=T("Back to the review")).first.click()

    # publish: version 2
    page.get_by_role("button", name=T("Publish as version %(next)d", next=2)).click()
    page.wait_for_url(re.compile(r"/checklists/school-5s/2$"))
    page.get_by_text(T("Published as version %(version)d. New audits use it; audits already started keep "
                       "their version.", version=2)).wait_for()
    assert NEW_TEXT in page.content()
    no_sideways_scrolling(page)
    shot(page, "published")
