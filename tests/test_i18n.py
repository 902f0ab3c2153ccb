"""Vietnamese first: every message in the code has a Vietnamese translation in the catalogue."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "fivs" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def test_every_message_in_the_code_has_a_vietnamese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"),
                    "-k", "_l", "-o", str(pot), str(ROOT / "fivs")], check=True, capture_output=True)
    with pot.open("rb") as fh:
        in_code = {m.id for m in read_po(fh) if m.id}
    with PO.open("rb") as fh:
        translated = {m.id: m.string for m in read_po(fh, locale="vi") if m.id}
    missing = sorted(str(i) for i in in_code if not translated.get(i))
    assert not missing, f"untranslated (run `make messages`, translate them in messages.po): {missing[:20]}"
