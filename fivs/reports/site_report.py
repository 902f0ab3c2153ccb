"""The site report: page one is a summary a principal reads in a minute (also used, page by
page, in the programme report), then zones, weakest items, before/after photos and the method
note. Every figure comes from fivs.comparisons (and so from fivs.scoring).
"""
from __future__ import annotations

import io
from collections.abc import Collection

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.platypus import Image, KeepTogether, PageBreak, Spacer

from fivs import labels, scoring
from fivs.actions.models import OPEN_STATUSES
from fivs.actions.queries import site_actions
from fivs.actions.services import is_overdue
from fivs.agreement.services import Pair, load_site_agreement
from fivs.comparisons.photos import before_after_pairs
from fivs.comparisons.queries import AcknowledgementRow, acknowledgements
from fivs.comparisons.services import SiteComparison, load_site_comparison
from fivs.labels import action_status_label, phase_label, priority_label
from fivs.photos.queries import photos_of_actions
from fivs.photos.services import photo_file, print_file
from fivs.reports import pdf
from fivs.reports.sections import ROUNDS_WIDTHS, PhotoPair, rounds_rows
from fivs.services_errors import NotFoundError
from fivs.timeutil import to_local, utcnow

TOP_WEAK = 3


def photo_pairs(site, lang: str, hidden: Collection[int] = ()) -> list[PhotoPair]:
    """The site's before/after pairs (fivs.photos): per item photographed in both rounds, the
    baseline and final photos paired in order. A pair whose file is missing is left out."""
    pairs = []
    for match in before_after_pairs(site, hidden):
        caption = f"{match.item.code} — {match.item.text(lang)}"
        for before, after in zip(match.baseline, match.final):
            try:
                before_jpeg, after_jpeg = (print_file(p) for p in (before, after))
            except NotFoundError:
                continue
            room = f" ({before.room})" if before.room else ""
            pairs.append(PhotoPair(match.item.code, caption + room, before_jpeg, (before.width, before.height),
                                   after_jpeg, (after.width, after.height)))
    return pairs


def kind_label(kind: str) -> str:
    return {"school": _("Primary school"), "clinic": _("Clinic")}.get(kind, kind)


def report_title(site) -> str:
    return _("5S report: %(site)s", site=site.name)


def build_site_report(site, lang: str, hidden: Collection[int] = ()) -> bytes:
    """The site report's PDF bytes in `lang` ("vi" or "en"), without the audits the reader may not
    see yet (`hidden`: fivs.audits.queries.hidden_audits)."""
    with force_locale(lang):
        comparison = load_site_comparison(site, hidden)
        st = pdf.styles()
        story = [*site_summary(comparison, round_acknowledgements([comparison]), lang, st), PageBreak(),
                 *site_details(comparison, lang, st),
                 *photo_section(photo_pairs(site, lang, hidden), st),
                 *open_actions(site_actions(site.id, statuses=OPEN_STATUSES, hidden=hidden), lang, st),
                 *verified_actions(site_actions(site.id, statuses=("verified",), hidden=hidden), lang, st),
                 *agreement_section(load_site_agreement(site, with_calibration=False, hidden=hidden), lang, st),
                 pdf.para(_("Method"), st["h2"]), *pdf.method_note(st["body"])]
        return pdf.render(story, title=report_title(comparison.site),
                          generated=to_local(utcnow()), lang=lang)


def round_acknowledgements(comparisons) -> dict[int, AcknowledgementRow]:
    """The site's acknowledgement of each comparison's baseline and final audit, by audit id (one query)."""
    return acknowledgements({r.audit.id for c in comparisons for r in (c.baseline, c.final) if r})


# ---------------------------------------------------------------- page one
def site_summary(c: SiteComparison, acks: dict[int, AcknowledgementRow], lang: str, st: dict, *,
                 weak_items: bool = True) -> list:
    """Site, rounds (with the site's acknowledgement), overall and per-S baseline -> final with change
    and band, the radar, and what improved most / what to fix next (without the weakest items when
    `weak_items` is False: the programme's site page lists them in a table of its own)."""
    site = c.site
    story = [pdf.para(site.name, st["title"]),
             pdf.para(_("District: %(district)s · %(kind)s · code %(code)s",
                        district=site.former_district or "—", kind=kind_label(site.kind), code=site.code),
                      st["body"]),
             Spacer(1, 6), rounds_table(c, acks, st), Spacer(1, 8)]
    series = pdf.round_series(c.baseline, c.final)
    radar = [pdf.radar(series, 180), pdf.legend(series, 180)] if series else []
    side = pdf.layout([[scores_table(c, lang, st), radar]], [pdf.CONTENT_WIDTH - 190, 190])
    story += [side, *highlights(c, lang, st, weak_items=weak_items)]
    return story


def rounds_table(c: SiteComparison, acks: dict[int, AcknowledgementRow], st: dict):
    return pdf.table(rounds_rows(c, acks), [w * pdf.CONTENT_WIDTH for w in ROUNDS_WIDTHS], st["cell"])


def scores_table(c: SiteComparison, lang: str, st: dict):
    def row(label, b, f, change):
        return [label, pdf.pct(b, lang), pdf.pct(f, lang), pdf.signed(change, lang),
                pdf.band_text(f if f is not None else b)]

    score = (lambda r, s: None if r is None else (r.scores.overall if s is None else r.scores.by_s[s]))
    change = (lambda s: None if c.change is None else (c.change.overall if s is None else c.change.by_s[s]))
    rows = [[_("Score"), _("Baseline"), _("Final"), _("Change (points)"), _("Band")],
            row(_("Overall"), score(c.baseline, None), score(c.final, None), change(None))]
    rows += [row(labels.s_label(s), score(c.baseline, s), score(c.final, s), change(s))
             for s in scoring.S_KEYS]
    return pdf.table(rows, [78, 52, 52, 58, 60], st["cell"], align_right_from=1)


def highlights(c: SiteComparison, lang: str, st: dict, *, weak_items: bool = True) -> list:
    """'What improved most' (largest S and zone change) and 'what to fix next' (lowest S of the
    latest round and the weakest items)."""
    story = [pdf.para(_("What improved most"), st["h2"])]
    changes = [(v, labels.s_label(s)) for s, v in (c.change.by_s.items() if c.change else ())
               if v is not None and v > 0]
    zone_names = {z.code: z.name(lang) for z in c.zones}
    zones = [(v, zone_names.get(code, code)) for code, v in c.zone_change.items()
             if v is not None and v > 0]
    if c.change is None:
        story.append(pdf.para(_("The change needs a submitted baseline and a submitted final audit."),
                              st["body"]))
    elif not changes and not zones:
        story.append(pdf.para(_("No S and no zone improved."), st["body"]))
    if changes:
        value, name = max(changes)
        story.append(_bullet(_("S: %(name)s, %(change)s percentage points", name=name,
                               change=pdf.signed(value, lang)), st))
    if zones:
        value, name = max(zones)
        story.append(_bullet(_("Zone: %(name)s, %(change)s percentage points", name=name,
                               change=pdf.signed(value, lang)), st))
    story.append(pdf.para(_("What to fix next"), st["h2"]))
    latest = c.final or c.baseline
    scored = [(v, s) for s, v in latest.scores.by_s.items() if v is not None] if latest else []
    if scored:
        value, s = min(scored)
        story.append(_bullet(_("Lowest S: %(name)s, %(pct)s", name=labels.s_label(s),
                               pct=pdf.pct(value, lang)), st))
    for weak in c.weakest[:TOP_WEAK] if weak_items else ():
        story.append(_bullet(f"{weak.item.code} ({pdf.pct(weak.pct, lang)}): {_text(weak.item, lang)}", st))
    if not scored and not c.weakest:
        story.append(pdf.para(_("No submitted audit yet."), st["body"]))
    return story


def _bullet(text: str, st: dict):
    return pdf.para("• " + text, st["body"])


def _text(item, lang: str) -> str:
    return item.text_en if lang == "en" else item.text_vi


# ---------------------------------------------------------------- the following pages
def site_details(c: SiteComparison, lang: str, st: dict) -> list:
    story = [pdf.para(_("Zones"), st["h2"])]
    if c.zones:
        by_zone = (lambda r, code: r.scores.by_zone.get(code) if r else None)
        rows = [[_("Zone"), _("Baseline"), _("Final"), _("Change (points)"), _("Band")]]
        rows += [[z.name(lang), pdf.pct(by_zone(c.baseline, z.code), lang),
                  pdf.pct(by_zone(c.final, z.code), lang), pdf.signed(c.zone_change.get(z.code), lang),
                  pdf.band_text(by_zone(c.final or c.baseline, z.code))] for z in c.zones]
        story.append(pdf.table(rows, [pdf.CONTENT_WIDTH - 260, 60, 60, 70, 70], st["cell"],
                               align_right_from=1))
    else:
        story.append(pdf.para(_("No submitted audit yet."), st["body"]))
    if c.versions_differ:
        story.append(pdf.para(_("The baseline used version %(baseline)d of the checklist and the final version "
                                "%(final)d: items are matched by their code, and an item in only one version is "
                                "left out of the change.", baseline=c.baseline.audit.checklist_version,
                                final=c.final.audit.checklist_version), st["small"]))
    if c.change is not None and c.change.excluded_items:
        story.append(pdf.para(_("%(count)d items were left out of the change: not scored in both rounds.",
                                count=len(c.change.excluded_items)), st["small"]))

    if c.weakest:
        round_name = _("Final") if c.weakest_round == "final" else _("Baseline")
        story.append(pdf.para(_("Weakest items (%(round)s)", round=round_name), st["h2"]))
        zone_names = {z.code: z.name(lang) for z in c.zones}
        rows = [[_("Item"), _("S"), _("Zone"), _("Score"), _("Notes")]]
        rows += [[f"{w.item.code} — {_text(w.item, lang)}", labels.s_label(w.item.s),
                  zone_names.get(w.item.zone_code, w.item.zone_code), pdf.pct(w.pct, lang),
                  pdf.lines([f"{label}: {note}" if label else note for label, note in w.notes],
                            st["cell"])]
                 for w in c.weakest]
        story.append(pdf.table(rows, [145, 65, 80, 40, pdf.CONTENT_WIDTH - 330], st["cell"]))

    if c.self_assessments:
        story.append(pdf.para(_("Self-assessments (not part of the comparison)"), st["h2"]))
        rows = [[_("Date"), _("Auditor"), _("Overall")]]
        rows += [[pdf.day(r.audit.audit_date), r.audit.auditor, pdf.pct(r.scores.overall, lang)]
                 for r in c.self_assessments]
        story.append(pdf.table(rows, [100, pdf.CONTENT_WIDTH - 180, 80], st["cell"]))
    return story


def agreement_section(pairs: list[Pair], lang: str, st: dict) -> list:
    """Do the raters agree? One row per pair (fivs.agreement.services), with the notes on method.
    The site report shows self-assessment pairs only: second raters are the reviewers' business."""
    if not pairs:
        return []
    rows = [[_("Round"), _("Raters"), _("Items"), _("Kappa (95 % CI)"), _("Same score"),
             _("Within one level"), _("Difference")]]
    rows += [[phase_label(p.phase), f"{p.audit.auditor} / {p.other.auditor}",
              str(p.overall.n_items), pdf.kappa(p.overall), pdf.fraction(p.overall.exact_agreement, lang),
              pdf.fraction(p.overall.within_one, lang), pdf.points(p.overall.mean_difference)]
             for p in pairs]
    return [pdf.para(_("Do the raters agree?"), st["h2"]),
            pdf.table(rows, [55, pdf.CONTENT_WIDTH - 380, 40, 110, 55, 65, 55], st["cell"], align_right_from=2),
            *(pdf.para(paragraph, st["small"]) for paragraph in labels.agreement_note())]


def open_actions(actions: list, lang: str, st: dict) -> list:
    """The site's open corrective actions (fivs.actions), overdue first."""
    if not actions:
        return []
    rows = [[_("Corrective action"), _("Item"), _("Responsible"), _("Due"), _("Priority"), _("Status")]]
    rows += [[a.title, f"{a.item.code} — {a.item.text(lang)}" if a.item else "—", a.responsible or "—",
              pdf.day(a.due_date), priority_label(a.priority),
              action_status_label(a.status) + (" · " + _("overdue") if is_overdue(a) else "")]
             for a in actions]
    return [pdf.para(_("Open corrective actions"), st["h2"]),
            pdf.table(rows, [130, 120, 75, 55, 45, pdf.CONTENT_WIDTH - 425], st["cell"])]


def verified_actions(actions: list, lang: str, st: dict) -> list:
    """The site's verified corrective actions: what was done, when it was verified, and the
    first "after" photo as a thumbnail (left out when its file is missing)."""
    if not actions:
        return []
    after = photos_of_actions([a.id for a in actions])
    rows = [[_("Corrective action"), _("Item"), _("What was done"), _("Verified on"), _("After photo")]]
    for a in actions:
        rows.append([a.title, f"{a.item.code} — {a.item.text(lang)}" if a.item else "—", a.done_note or "—",
                     pdf.day(to_local(a.verified_at).date()) if a.verified_at else "—",
                     _thumbnail(after.get(a.id, []))])
    return [pdf.para(_("Verified corrective actions"), st["h2"]),
            pdf.table(rows, [125, 105, pdf.CONTENT_WIDTH - 390, 75, 85], st["cell"])]


def _thumbnail(photos: list, box: float = 75):
    """The first photo's thumbnail, or a dash (no photo, or its file is missing)."""
    if not photos:
        return "—"
    try:
        jpeg = photo_file(photos[0], "thumb").data
    except NotFoundError:
        return "—"
    return _photo(jpeg, (photos[0].thumb_width, photos[0].thumb_height), box, box)


def photo_section(pairs: list[PhotoPair], st: dict, *, width: float = pdf.CONTENT_WIDTH, max_height: float = 200,
                  heading=None) -> list:
    """Before/after photos of the same item side by side (drawn from the files), under `heading` (a
    flowable; "Before and after" when None), which is kept with the first pair."""
    if not pairs:
        return []
    story = []
    half = (width - 12) / 2
    for pair in pairs:
        cells = [_photo(jpeg, size, half, max_height) for jpeg, size in ((pair.before, pair.before_size),
                                                              (pair.after, pair.after_size))]
        grid = pdf.layout([[pdf.para(_("Before (baseline)"), st["small"]),
                            pdf.para(_("After (final)"), st["small"])], cells], [half + 6, half + 6])
        title = [] if story else [heading or pdf.para(_("Before and after"), st["h2"])]  # kept with the first
        story.append(KeepTogether([*title, pdf.para(pair.caption, st["h3"]), grid, Spacer(1, 6)]))
    return story


def _photo(jpeg: bytes, size: tuple[int, int], width: float, max_height: float = 200) -> Image:
    """A JPEG drawn from its bytes (embedded as it is, DCTDecode), scaled into the box."""
    w, h = size
    scale = min(width / w, max_height / h)
    return Image(io.BytesIO(jpeg), width=w * scale, height=h * scale)
