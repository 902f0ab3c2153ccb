"""fivs.labels: the names of the S and of the bands and the method note, through Babel, in
Vietnamese (the default) and English; the Japanese names of the S are fixed."""
from __future__ import annotations

import pytest
from flask_babel import force_locale

from fivs import create_app, labels
from fivs.scoring import S_KEYS
from tests.scoring_support import BANDS


@pytest.fixture(scope="module")
def babel_app(tmp_path_factory):
    """An app for Babel only: no request, no database."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SQLALCHEMY_DATABASE_URI": "sqlite://",
                      "MEDIA_ROOT": str(tmp_path_factory.mktemp("media"))})
    with app.app_context():
        yield app


def test_s_names_in_vietnamese_english_and_japanese(babel_app):
    with force_locale("vi"):
        vi = labels.s_names()
    with force_locale("en"):
        en = labels.s_names()
    assert (vi["seiri"], en["seiri"], labels.JAPANESE_NAMES["seiri"]) == ("Sàng lọc", "Sort", "Seiri")
    assert en["seiketsu"] == "Standardise"
    assert vi["shitsuke"] == "Sẵn sàng"
    assert list(vi) == list(en) == list(labels.JAPANESE_NAMES) == list(S_KEYS)
    assert vi == {"seiri": "Sàng lọc", "seiton": "Sắp xếp", "seiso": "Sạch sẽ", "seiketsu": "Săn sóc",
                  "shitsuke": "Sẵn sàng"}
    assert all(labels.s_label(s) == vi[s] for s in S_KEYS)  # Vietnamese by default


def test_band_names(babel_app):
    with force_locale("vi"):
        assert labels.band_names()["fair"] == "Trung bình"
    with force_locale("en"):
        assert labels.band_names()["fair"] == "Fair"
    assert set(labels.band_names()) == {"poor", "fair", "good", "excellent"}


@pytest.mark.parametrize("pct, _key, vi, en", BANDS)
def test_band_labels(babel_app, pct, _key, vi, en):
    assert labels.band_label(pct) == vi
    with force_locale("vi"):
        assert labels.band_label(pct) == vi
    with force_locale("en"):
        assert labels.band_label(pct) == en


def test_band_label_unknown_language_falls_back_to_english(babel_app):
    with force_locale("ja"):
        assert labels.band_label(95) == "Excellent"


def test_method_note_in_vietnamese_and_english(babel_app):
    with force_locale("vi"):
        vi = labels.method_note()
    with force_locale("en"):
        en = labels.method_note()
    assert len(vi) == len(en) == 4  # scores and bands, the change of a site, the statistics
    assert "Wilcoxon" in " ".join(vi) and "Wilcoxon" in " ".join(en)
    assert vi[0] == ("Mỗi mục được chấm từ 0 đến 4. Các mục đánh dấu Không áp dụng (N/A) hoặc chưa chấm "
                     "không được tính.")
    assert en[0] == "Each item is scored from 0 to 4. Items marked N/A and unscored items are left out."
    assert "dưới 60 % Kém" in vi[1] and "below 60 % Poor" in en[1]  # "%%" in the catalogue, "%" shown
    assert "khi có tối đa 20 mức thay đổi khác 0" in vi[3] and "exact for up to 20 non-zero changes" in en[3]
    assert "khoảng tin cậy 95 % của nó" in vi[3] and "95 % confidence interval" in en[3]
