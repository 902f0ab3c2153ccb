"""A checklist version's content as plain data, whatever file it came from (YAML or XLSX).

Both readers produce a `ParsedTemplate`; a loaded version is read back into one (`template_content`),
so exports, diffs and round trips all compare the same structure and the same content hash.
Problems carry where they are (file, line or sheet and row) and an English message whose source
(`msgid` and `params`) can be shown in the reader's language.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fivs.checklists.models import ChecklistTemplate
from fivs.text import clean_text

LANGS = ("vi", "en")
CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SITE_KINDS = ("school", "clinic")
NAME_MAX = 200  # titles and zone names (the columns' length)
ROOM_EXAMPLES_MAX = 200


def N_(msgid: str) -> str:
    """Marks a message for extraction; it is translated where it is shown, in the reader's language."""
    return msgid


@dataclass
class Problem:
    """One problem in a checklist file. `line` is a YAML line, or a row of `sheet` in a workbook
    (0: the whole file or sheet)."""

    file: str
    line: int
    message: str  # English, with its values filled in
    sheet: str = ""
    msgid: str = ""  # the message's translatable source ("" when it has none)
    params: dict = field(default_factory=dict)

    @classmethod
    def of(cls, file: str, sheet: str, row: int, msgid: str, /, **params) -> Problem:
        return cls(file, row, msgid % params if params else msgid, sheet, msgid, params)

    @property
    def where(self) -> str:
        """sheet:row (or sheet, or line) without the file name."""
        if self.sheet:
            return f"{self.sheet}:{self.line}" if self.line else self.sheet
        return str(self.line) if self.line else ""

    def localized(self, gettext: Callable[..., str]) -> str:
        return gettext(self.msgid, **self.params) if self.msgid else self.message

    def __str__(self) -> str:
        return f"{self.file}:{self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


class ChecklistError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class ParsedTemplate:
    key: str
    version: int
    site_kind: str
    title: dict
    scale: list[dict]  # [{"level": 0, "anchor_vi": ..., "anchor_en": ...}, ...]
    zones: list[dict]  # [{"code", "name": {vi, en}, "repeats", "room_examples", "items": [...]}]
    content_hash: str
    source_file: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def items(self) -> list[dict]:
        """Every item in checklist order, each with its zone's code."""
        return [{**item, "zone": zone["code"]} for zone in self.zones for item in zone["items"]]

    def same_content(self, other: ParsedTemplate) -> bool:
        """Equal apart from the version number (the title, scale, zones and items)."""
        return content_hash(self, version=0) == content_hash(other, version=0)


def clean_cell(value: str) -> str:
    """Text as a checklist stores it: NFC, stripped, no control characters (newlines kept)."""
    return clean_text(value)


def content_hash(parsed: ParsedTemplate, *, version: int | None = None) -> str:
    """SHA-256 of the canonical JSON of the content. A zone's room examples count only when set,
    so the hash of a version written before they existed is unchanged."""
    zones = [{k: v for k, v in zone.items() if k != "room_examples" or v} for zone in parsed.zones]
    canonical = json.dumps({"key": parsed.key, "version": parsed.version if version is None else version,
                            "site_kind": parsed.site_kind, "title": parsed.title, "scale": parsed.scale,
                            "zones": zones}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def with_hash(parsed: ParsedTemplate) -> ParsedTemplate:
    parsed.content_hash = content_hash(parsed)
    return parsed


def template_content(template: ChecklistTemplate) -> ParsedTemplate:
    """A loaded version as the readers would have parsed it (its hash equals the stored one)."""
    zones = []
    for zone in template.zones:
        zones.append({"code": zone.code, "name": {"vi": zone.name_vi, "en": zone.name_en},
                      "repeats": bool(zone.repeats), "room_examples": zone.room_examples or "",
                      "items": [{"code": i.code, "s": i.s, "text": {"vi": i.text_vi, "en": i.text_en},
                                 "guidance": {"vi": i.guidance_vi or "", "en": i.guidance_en or ""},
                                 "na_allowed": bool(i.na_allowed)} for i in zone.items]})
    parsed = ParsedTemplate(key=template.key, version=template.version, site_kind=template.site_kind,
                            title={"vi": template.title_vi, "en": template.title_en},
                            scale=[{"level": s["level"], "anchor_vi": s["anchor_vi"], "anchor_en": s["anchor_en"]}
                                   for s in template.scale],
                            zones=zones, content_hash="", source_file=template.source_file or "")
    return with_hash(parsed)
