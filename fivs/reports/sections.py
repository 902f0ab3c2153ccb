"""What the programme report says about each site and in its appendix, once, as plain blocks (headings,
paragraphs, tables, photo pairs) that fivs.reports.programme_report lays out in the PDF and
fivs.reports.docx_report writes into the Word file: the two cannot say different things.

Call under flask_babel.force_locale(lang). Figures come from fivs.comparisons and fivs.agreement, formatted
as the PDFs print them (fivs.reports.pdf).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _

from fivs import labels
from fivs.agreement.services import ProgrammeAgreement
from fivs.labels import kind_label as audit_kind_label, phase_label
from fivs.comparisons.queries import AcknowledgementRow, ExcludedAudit
from fivs.comparisons.services import ItemChange, Programme, SiteComparison, WeakItem
from fivs.reports import pdf
from fivs.stats import WILCOXON_MIN_N
from fivs.timeutil import to_local

TOP_ITEMS = 3  # most improved and weakest items on a site's page
MAX_PAIRS = 6  # photo pairs on a site's page (the print derivative, ~8 cm wide)


@dataclass(frozen=True)
class PhotoPair:
    """One item's baseline and final photo, as print-derivative JPEG bytes read through the media backend
    (sizes: the display image's, whose aspect ratio the print derivative keeps)."""

    item_code: str
    caption: str
    before: bytes
    before_size: tuple[int, int]
    after: bytes
    after_size: tuple[int, int]


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1  # 1: a section (PDF h2, Word "Heading 1" below the site's), 2: within it


@dataclass(frozen=True)
class Text:
    text: str
    small: bool = False  # a note


@dataclass(frozen=True)
class Grid:
    rows: list[list[str]]  # the first is the header
    widths: tuple[float, ...]  # shares of the text width
    right_from: int | None = None  # columns from here on are figures


@dataclass(frozen=True)
class Photos:
    pairs: list[PhotoPair]


Block = Heading | Text | Grid | Photos


# ---------------------------------------------------------------- acknowledgement
def acknowledgement_text(ack: AcknowledgementRow | None) -> str:
    """Who acknowledged the audit for the site, when, and their comment (acknowledging is not agreeing)."""
    if ack is None:
        return _("Not acknowledged by the site yet.")
    text = _("Acknowledged by %(name)s on %(time)s.", name=ack.by, time=to_local(ack.at).strftime("%d/%m/%Y %H:%M"))
    if ack.comment:
        text += " " + _("Comment: %(comment)s", comment=ack.comment)
    return text


def rounds_rows(c: SiteComparison, acks: dict[int, AcknowledgementRow]) -> list[list[str]]:
    """The site's two rounds: date, auditor and the site's acknowledgement."""
    rows = [[_("Round"), _("Date"), _("Auditor"), _("Acknowledgement by the site")]]
    for label, r in ((_("Baseline"), c.baseline), (_("Final"), c.final)):
        rows.append([label, pdf.day(r.audit.audit_date), r.audit.auditor, acknowledgement_text(acks.get(r.audit.id))]
                    if r else [label, _("No submitted audit yet"), "—", "—"])
    return rows


ROUNDS_WIDTHS = (0.14, 0.14, 0.24, 0.48)


# ---------------------------------------------------------------- a site's page
def _notes(notes: Sequence[tuple[str, str]]) -> str:
    return "; ".join(f"{room}: {note}" if room else note for room, note in notes) or "—"


def chosen_items(c: SiteComparison, photographed: set[str]) -> tuple[list[ItemChange], list[WeakItem]]:
    """The TOP_ITEMS most improved and weakest items; among equal figures, those with a photo pair first."""
    improved = sorted(c.improved, key=lambda i: (-i.change, i.item.code not in photographed, i.item.sort_key))
    weakest = sorted(c.weakest, key=lambda w: (w.pct, w.item.code not in photographed, w.item.sort_key))
    return improved[:TOP_ITEMS], weakest[:TOP_ITEMS]


def site_blocks(c: SiteComparison, pairs: list[PhotoPair], lang: str) -> list[Block]:
    """A site's page after its scores: the items that improved most and the weakest ones, with their notes
    and their before/after photo pairs."""
    improved, weakest = chosen_items(c, {p.item_code for p in pairs})
    blocks: list[Block] = [Heading(_("Items that improved most"), 2)]
    if improved:
        blocks.append(Grid([[_("Item"), _("Baseline"), _("Final"), _("Change (points)"), _("Notes")]] +
                           [[f"{i.item.code} — {i.item.text(lang)}", pdf.pct(i.baseline_pct, lang),
                             pdf.pct(i.final_pct, lang), pdf.signed(i.change, lang), _notes(i.notes)]
                            for i in improved], (0.38, 0.1, 0.1, 0.12, 0.3), right_from=1))
    else:
        blocks.append(Text(_("No item scored in both rounds improved.")))
    round_name = _("Final") if c.weakest_round == "final" else _("Baseline")
    blocks.append(Heading(_("Weakest items (%(round)s)", round=round_name), 2))
    if weakest:
        blocks.append(Grid([[_("Item"), _("Score"), _("Notes")]] +
                           [[f"{w.item.code} — {w.item.text(lang)}", pdf.pct(w.pct, lang), _notes(w.notes)]
                            for w in weakest], (0.5, 0.12, 0.38), right_from=1))
    else:
        blocks.append(Text(_("Every item has the top score.")))
    # the pairs of the items above first, then the site's other pairs (the evidence there is), MAX_PAIRS in all
    order = list(dict.fromkeys([i.item.code for i in improved] + [w.item.code for w in weakest]))
    shown = sorted(pairs, key=lambda p: order.index(p.item_code) if p.item_code in order else len(order))[:MAX_PAIRS]
    if shown:
        blocks += [Heading(_("Before and after"), 2), Photos(shown)]
    return blocks


# ---------------------------------------------------------------- the appendix
def _reason(audit: ExcludedAudit) -> str:
    reasons = {"voided": _("Voided by a reviewer"), "draft": _("In progress, not submitted"),
               "reopened": _("Reopened, not submitted again")}
    text = reasons.get(audit.reason, audit.reason)
    return f"{text}: {audit.detail}" if audit.detail else text


def appendix_blocks(programme: Programme, excluded: list[ExcludedAudit], agreement: ProgrammeAgreement,
                    lang: str) -> list[Block]:
    """Methods and data quality: the scale and N/A, the tests, the items the comparability guard left out
    (per site), the audits no figure counts, and self-assessment against the consultant."""
    blocks: list[Block] = [Heading(_("Appendix: methods and data quality")),
                           Heading(_("The scale and N/A"), 2),
                           *(Text(paragraph) for paragraph in labels.method_note()),
                           Heading(_("Tests used"), 2),
                           Text(_("The change is tested with the Wilcoxon signed-rank test (two-sided) on the sites' "
                                  "changes; it needs at least %(n)d sites whose score changed, else no p value is "
                                  "given. An interval is the 95%% confidence interval of the mean change (Student "
                                  "t), cut at ±100 points.", n=WILCOXON_MIN_N))]
    guarded = [c for c in programme.sites if c.change is not None and c.change.excluded_items]
    blocks.append(Heading(_("Items left out of the change"), 2))
    blocks.append(Text(_("An item counts in a site's change only when it is scored in both rounds (not N/A, not "
                         "blank); the others are left out (the comparability guard).")))
    if guarded:
        blocks.append(Grid([[_("Site"), _("Items left out")]] +
                           [[f"{c.site.code} — {c.site.name}", ", ".join(c.change.excluded_items)] for c in guarded],
                           (0.4, 0.6)))
    else:
        blocks.append(Text(_("No item was left out at any site.")))
    blocks.append(Heading(_("Audits left out"), 2))
    if excluded:
        blocks.append(Grid([[_("Site"), _("Round"), _("Kind"), _("Date"), _("Auditor"), _("Why")]] +
                           [[f"{a.site_code} — {a.site_name}", phase_label(a.phase), audit_kind_label(a.kind),
                             pdf.day(a.audit_date), a.auditor, _reason(a)] for a in excluded],
                           (0.26, 0.1, 0.14, 0.13, 0.16, 0.21)))
    else:
        blocks.append(Text(_("Every audit is submitted: none is left out.")))
    blocks.append(Heading(_("Self-assessment and consultant"), 2))
    blocks.append(Text(agreement.bias.sentence()))
    rows = [[_("Round"), _("Pairs"), _("Items"), _("Kappa (95 % CI)"), _("Same score"), _("Within one level"),
             _("Difference")]]
    for phase in agreement.shown_phases:
        a = agreement.pooled[phase]
        rows.append([phase_label(phase), str(len(agreement.by_round[phase])), str(a.n_items), pdf.kappa(a),
                     pdf.fraction(a.exact_agreement, lang), pdf.fraction(a.within_one, lang),
                     pdf.points(a.mean_difference)])
    blocks.append(Grid(rows, (0.12, 0.08, 0.09, 0.29, 0.13, 0.15, 0.14), right_from=1))
    if agreement.drift:
        drift = [[_("Consultant"), _("Second-rater pairs"), _("Difference"), _("Kappa (95 % CI)"),
                  _("Self-assessment pairs"), _("Difference")]]
        drift += [[d.rater, str(d.calibration_pairs), pdf.points(d.calibration.mean_difference),
                   pdf.kappa(d.calibration) if d.calibration_pairs else "—", str(d.self_pairs),
                   pdf.points(d.versus_self.mean_difference)] for d in agreement.drift]
        blocks += [Heading(_("Rater drift"), 2), Grid(drift, (0.3, 0.13, 0.12, 0.2, 0.13, 0.12), right_from=1),
                   Text(_("Each consultant minus the other rater, in points: negative scores harder, "
                          "positive softer"), small=True)]
    return blocks + [Text(paragraph, small=True) for paragraph in labels.agreement_note()]
