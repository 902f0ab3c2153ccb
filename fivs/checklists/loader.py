"""Checklist templates as data: parse, validate (file:line: message), load idempotently.

A file is YAML (the reviewed source in checklists/) or an XLSX workbook (fivs.checklists.xlsx);
both give the same `ParsedTemplate`. A template version that any audit uses, or that was
published from the admin pages, is immutable: loading a changed file for it is refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, select

from fivs.checklists import xlsx
from fivs.checklists.content import (
    CODE_RE,
    LANGS,
    NAME_MAX,
    ROOM_EXAMPLES_MAX,
    SITE_KINDS,
    ChecklistError,
    ParsedTemplate,
    Problem,
    clean_cell,
    with_hash,
)
from fivs.checklists.models import S_CATEGORIES, ChecklistTemplate, ChecklistUpload, Item, Zone
from fivs.extensions import db

__all__ = ["ChecklistError", "ParsedTemplate", "Problem", "checklist_files", "dump_yaml", "load_template",
           "parse_file"]


class _Node(dict):
    """A mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader, node, deep=False):
    loader.flatten_mapping(node)
    mapping = _Node()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _line(node, key=None) -> int:
    if isinstance(node, _Node):
        return node.key_lines.get(key, node.line) if key is not None else node.line
    return 0


class _Checker:
    def __init__(self, fname: str):
        self.fname = fname
        self.problems: list[Problem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.fname, line, message))

    def text_pair(self, node, key: str, where: str, required: bool = True, max_length: int | None = None
                  ) -> dict:
        value = node.get(key) if isinstance(node, dict) else None
        line = _line(node, key)
        if value is None:
            if required:
                self.add(line, f"{where}: missing '{key}' (needs vi and en)")
            return {"vi": "", "en": ""}
        if not isinstance(value, dict):
            self.add(line, f"{where}: '{key}' must map vi and en to text")
            return {"vi": "", "en": ""}
        out = {}
        for lang in LANGS:
            text = value.get(lang)
            if not isinstance(text, str) or not text.strip():
                if required or text is not None:
                    self.add(_line(value, lang) or line,
                             f"{where}: missing translation '{lang}' for '{key}'")
                out[lang] = ""
            elif max_length and len(clean_cell(text)) > max_length:
                self.add(_line(value, lang) or line,
                         f"{where}: '{key}' ({lang}) is longer than {max_length} characters")
                out[lang] = ""
            else:
                out[lang] = clean_cell(text)
        for extra in set(value) - set(LANGS):
            self.add(_line(value, extra), f"{where}: unknown language '{extra}' in '{key}' (use vi, en)")
        return out


def parse_file(path: str | Path) -> ParsedTemplate:
    """Parse and validate a .yaml or .xlsx file; raises ChecklistError listing every problem found."""
    path = Path(path)
    fname = str(path)
    if path.suffix.lower() == ".xlsx":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ChecklistError([Problem(fname, 0, f"cannot read file: {exc.strerror}")]) from exc
        return xlsx.parse_workbook(data, fname)
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise ChecklistError([Problem(fname, 0, "unknown kind of file (use .yaml or .xlsx)")])
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except OSError as exc:
        raise ChecklistError([Problem(fname, 0, f"cannot read file: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ChecklistError([Problem(fname, 1, "file is not UTF-8 text")]) from exc
    try:
        doc = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ChecklistError([Problem(fname, (mark.line + 1) if mark else 0,
                                      f"YAML syntax error: {exc.problem or exc.context}")]) from exc
    except yaml.YAMLError as exc:
        raise ChecklistError([Problem(fname, 0, f"YAML error: {exc}")]) from exc
    chk = _Checker(fname)
    parsed = _check_document(doc, chk, fname)
    if chk.problems:
        raise ChecklistError(chk.problems)
    return parsed


def _check_document(doc, chk: _Checker, fname: str) -> ParsedTemplate | None:
    if not isinstance(doc, dict):
        chk.add(1, "the file must be a mapping with key, version, site_kind, title, scale, zones")
        return None
    known = {"key", "version", "site_kind", "title", "scale", "zones"}
    for missing in sorted(known - set(doc)):
        chk.add(doc.line, f"missing top-level '{missing}'")
    for extra in sorted(set(doc) - known):
        chk.add(_line(doc, extra), f"unknown top-level key '{extra}'")
    key = doc.get("key")
    if key is not None and not (isinstance(key, str) and CODE_RE.match(key)):
        chk.add(_line(doc, "key"), "key must be a short code of letters, digits, '-', '_' or '.'")
    version = doc.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        chk.add(_line(doc, "version"), "version must be a whole number ≥ 1")
    kind = doc.get("site_kind")
    if kind is not None and kind not in SITE_KINDS:
        chk.add(_line(doc, "site_kind"), f"unknown site_kind {kind!r} (use school or clinic)")
    title = chk.text_pair(doc, "title", "title", max_length=NAME_MAX) if "title" in doc else {}
    scale = _check_scale(doc.get("scale"), chk, _line(doc, "scale")) if "scale" in doc else []
    zones = _check_zones(doc.get("zones"), chk, _line(doc, "zones")) if "zones" in doc else []
    return with_hash(ParsedTemplate(key=key, version=version, site_kind=kind, title=title, scale=scale,
                                    zones=zones, content_hash="", source_file=Path(fname).name))


def _check_scale(scale, chk: _Checker, line: int) -> list[dict]:
    if not isinstance(scale, list) or len(scale) != 5:
        chk.add(line, "bad scale: it must list exactly 5 levels, 0 to 4")
        return []
    out = []
    for expected, entry in enumerate(scale):
        if not isinstance(entry, dict):
            chk.add(line, f"bad scale: entry {expected + 1} must be a mapping with level and anchor")
            continue
        if entry.get("level") != expected:
            chk.add(_line(entry, "level"),
                    f"bad scale: level {entry.get('level')!r} where {expected} was expected (levels 0–4 in order)")
        anchor = chk.text_pair(entry, "anchor", f"scale level {expected}")
        out.append({"level": expected, "anchor_vi": anchor["vi"], "anchor_en": anchor["en"]})
    return out


def _check_zones(zones, chk: _Checker, line: int) -> list[dict]:
    if not isinstance(zones, list) or not zones:
        chk.add(line, "zones must be a non-empty list")
        return []
    seen_zones: set[str] = set()
    seen_items: dict[str, int] = {}
    out = []
    for zone in zones:
        if not isinstance(zone, dict):
            chk.add(line, "each zone must be a mapping with code, name, items")
            continue
        code = zone.get("code")
        where = f"zone {code!r}"
        if not (isinstance(code, str) and CODE_RE.match(code)):
            chk.add(_line(zone, "code") or zone.line, f"{where}: missing or bad zone code")
        elif code in seen_zones:
            chk.add(_line(zone, "code"), f"duplicate zone code {code!r}")
        seen_zones.add(code)
        name = chk.text_pair(zone, "name", where, max_length=NAME_MAX)
        repeats = zone.get("repeats", False)
        if not isinstance(repeats, bool):
            chk.add(_line(zone, "repeats"), f"{where}: repeats must be true or false")
        examples = zone.get("room_examples", "")
        if not isinstance(examples, str) or len(clean_cell(examples)) > ROOM_EXAMPLES_MAX:
            chk.add(_line(zone, "room_examples"),
                    f"{where}: room_examples must be text of at most {ROOM_EXAMPLES_MAX} characters")
            examples = ""
        elif examples.strip() and repeats is not True:
            chk.add(_line(zone, "room_examples"), f"{where}: room_examples are for a zone that repeats")
        for extra in sorted(set(zone) - {"code", "name", "repeats", "room_examples", "items"}):
            chk.add(_line(zone, extra), f"{where}: unknown key '{extra}'")
        items = _check_items(zone.get("items"), chk, zone, where, seen_items)
        out.append({"code": code, "name": name, "repeats": bool(repeats), "room_examples": clean_cell(examples),
                    "items": items})
    return out


def _check_items(items, chk: _Checker, zone, where: str, seen: dict[str, int]) -> list[dict]:
    if not isinstance(items, list) or not items:
        chk.add(_line(zone, "items") or zone.line, f"{where}: items must be a non-empty list")
        return []
    out = []
    for item in items:
        if not isinstance(item, dict):
            chk.add(_line(zone, "items"), f"{where}: each item must be a mapping")
            continue
        code = item.get("code")
        iwhere = f"item {code!r}"
        if not (isinstance(code, str) and CODE_RE.match(code)):
            chk.add(_line(item, "code") or item.line, f"{iwhere}: missing or bad item code")
        elif code in seen:
            chk.add(_line(item, "code"),
                    f"duplicate item code {code!r} (first used on line {seen[code]})")
        else:
            seen[code] = _line(item, "code")
        s = item.get("s")
        if s not in S_CATEGORIES:
            chk.add(_line(item, "s") or item.line,
                    f"{iwhere}: unknown S {s!r} (use one of {', '.join(S_CATEGORIES)})")
        text = chk.text_pair(item, "text", iwhere)
        guidance = chk.text_pair(item, "guidance", iwhere, required=False)
        na = item.get("na_allowed", False)
        if not isinstance(na, bool):
            chk.add(_line(item, "na_allowed"), f"{iwhere}: na_allowed must be true or false")
        for extra in sorted(set(item) - {"code", "s", "text", "guidance", "na_allowed"}):
            chk.add(_line(item, extra), f"{iwhere}: unknown key '{extra}'")
        out.append({"code": code, "s": s, "text": text, "guidance": guidance, "na_allowed": bool(na)})
    return out


# ---------------------------------------------------------------- loading
def _audits_using(template_id: int) -> int:
    """How many audits pin this version. The audits table is named, not imported: the audits
    room sits above this one (an audit pins a template, never the reverse)."""
    audits = db.metadata.tables["audits"]
    return db.session.scalar(select(func.count()).select_from(audits).where(audits.c.template_id == template_id))


@dataclass
class LoadResult:
    template: ChecklistTemplate
    action: str  # "created" | "unchanged" | "updated"


def load_template(parsed: ParsedTemplate) -> LoadResult:
    """Insert or (if no audit uses it yet) update one template version. Flushes, never commits."""
    existing = db.session.scalar(select(ChecklistTemplate).where(
        ChecklistTemplate.key == parsed.key, ChecklistTemplate.version == parsed.version))
    if existing is not None and existing.content_hash == parsed.content_hash:
        return LoadResult(existing, "unchanged")
    if existing is not None:
        published = db.session.scalar(select(ChecklistUpload.id).where(ChecklistUpload.template_id == existing.id))
        if published:
            raise ChecklistError([Problem(
                parsed.source_file, 1,
                f"template {parsed.key} version {parsed.version} was published from the admin pages and "
                f"cannot change: save the new text as a later version")])
        used = _audits_using(existing.id)
        if used:
            raise ChecklistError([Problem(
                parsed.source_file, 1,
                f"template {parsed.key} version {parsed.version} is used by {used} audit(s) and "
                f"cannot change: save the new text as version {parsed.version + 1}")])
        for item in list(existing.items):
            db.session.delete(item)
        db.session.flush()
        for zone in list(existing.zones):
            db.session.delete(zone)
        db.session.flush()
        db.session.expire(existing, ["zones", "items"])
        template, action = existing, "updated"
    else:
        template, action = ChecklistTemplate(key=parsed.key, version=parsed.version), "created"
        db.session.add(template)
    with db.session.no_autoflush:
        _fill(template, parsed)
    db.session.flush()
    return LoadResult(template, action)


def _fill(template: ChecklistTemplate, parsed: ParsedTemplate) -> None:
    template.site_kind = parsed.site_kind
    template.title_vi, template.title_en = parsed.title["vi"], parsed.title["en"]
    template.scale = parsed.scale
    template.content_hash = parsed.content_hash
    template.source_file = parsed.source_file
    position = 0
    for zpos, z in enumerate(parsed.zones):
        zone = Zone(code=z["code"], name_vi=z["name"]["vi"], name_en=z["name"]["en"],
                    repeats=z["repeats"], room_examples=z["room_examples"], position=zpos)
        template.zones.append(zone)
        for it in z["items"]:
            position += 1
            item = Item(code=it["code"], s=it["s"], text_vi=it["text"]["vi"], text_en=it["text"]["en"],
                        guidance_vi=it["guidance"]["vi"], guidance_en=it["guidance"]["en"],
                        na_allowed=it["na_allowed"], position=position, zone=zone)
            template.items.append(item)


def checklist_files(directory: str | Path) -> list[Path]:
    return sorted(Path(directory).glob("*.yaml"))


# ---------------------------------------------------------------- writing YAML
_YAML_HEADER = ("# fivs checklist template. Changing the text of a version used by audits is refused: "
                "add a new version file instead.\n")


def _q(text: str) -> str:
    """A double-quoted YAML scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _pair(pair: dict) -> str:
    """{vi: "...", en: "..."}; an optional pair (guidance) leaves out an empty language."""
    return "{" + ", ".join(f"{lang}: {_q(pair[lang])}" for lang in LANGS if pair[lang]) + "}"


def dump_yaml(parsed: ParsedTemplate) -> str:
    """The version as a YAML file in the layout of checklists/*.yaml (for review and for the repository)."""
    out = [_YAML_HEADER, f"key: {parsed.key}\n", f"version: {parsed.version}\n", f"site_kind: {parsed.site_kind}\n",
           f"title:\n  vi: {_q(parsed.title['vi'])}\n  en: {_q(parsed.title['en'])}\n", "scale:\n"]
    for level in parsed.scale:
        out.append(f"  - level: {level['level']}\n    anchor: "
                   f"{_pair({'vi': level['anchor_vi'], 'en': level['anchor_en']})}\n")
    out.append("zones:\n")
    for zone in parsed.zones:
        out.append(f"  - code: {zone['code']}\n    name: {_pair(zone['name'])}\n"
                   f"    repeats: {'true' if zone['repeats'] else 'false'}\n")
        if zone.get("room_examples"):
            out.append(f"    room_examples: {_q(zone['room_examples'])}\n")
        out.append("    items:\n")
        for item in zone["items"]:
            out.append(f"      - code: {item['code']}\n        s: {item['s']}\n        text: {_pair(item['text'])}\n")
            if item["guidance"]["vi"] or item["guidance"]["en"]:
                out.append(f"        guidance: {_pair(item['guidance'])}\n")
            out.append(f"        na_allowed: {'true' if item['na_allowed'] else 'false'}\n")
    return "".join(out)
