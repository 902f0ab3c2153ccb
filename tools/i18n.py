"""Keep the Vietnamese catalogue in step with the code.

    python tools/i18n.py update          # extract messages, merge into fivs/translations/vi/.../messages.po
    python tools/i18n.py fill FILE.py    # FILE.py defines VI = {english_msgid: vietnamese}; fills empty msgstrs
    python tools/i18n.py missing         # list msgids without a Vietnamese translation (exit 1 if any)
    python tools/i18n.py sync            # update + fill from every tools/vi/*.py + compile (idempotent)

Each feature keeps its Vietnamese strings in tools/vi/<feature>.py (VI = {msgid: msgstr}).
"""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "fivs" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
POT = ROOT / "fivs" / "translations" / "messages.pot"
BIN = Path(sys.executable).parent


def update() -> None:
    subprocess.run([str(BIN / "pybabel"), "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l",
                    "--no-location", "--sort-output", "-o", str(POT), str(ROOT / "fivs")],
                   check=True, capture_output=True)
    subprocess.run([str(BIN / "pybabel"), "update", "-i", str(POT), "-d", str(ROOT / "fivs" / "translations"),
                    "-l", "vi", "--no-fuzzy-matching", "--ignore-obsolete"], check=True, capture_output=True)


def load():
    with PO.open("rb") as fh:
        return read_po(fh, locale="vi")


def save(catalog) -> None:
    with PO.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True, sort_output=True, width=100)


def fill(path: str) -> None:
    spec = importlib.util.spec_from_file_location("vi_strings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    catalog = load()
    for message in catalog:
        if message.id and not message.string and message.id in module.VI:
            message.string = module.VI[message.id]
            message.flags.discard("fuzzy")
    save(catalog)


def missing() -> list[str]:
    return [m.id for m in load() if m.id and not m.string]


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "missing"
    if command == "update":
        update()
    elif command == "fill":
        fill(sys.argv[2])
    elif command == "sync":
        update()
        for source in sorted((ROOT / "tools" / "vi").glob("*.py")):
            fill(str(source))
        subprocess.run([str(BIN / "pybabel"), "compile", "-d", str(ROOT / "fivs" / "translations")],
                       check=True, capture_output=True)
    gaps = missing()
    for gap in gaps:
        print(f"untranslated: {gap!r}")
    sys.exit(1 if gaps and command == "missing" else 0)
