"""The audit record ("biên bản đánh giá"): one A4 page per submitted audit, in the administrative
layout people in Vietnam expect (the national motto beside the site, the title, the facts, the scores
per S with the band, the main findings, the site head's acknowledgement and the signature blocks of
the auditor and of the site's representative), so the office files a signed paper for every audit.
"""
from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Spacer

from fivs import labels, scoring
from fivs.audits.models import Audit
from fivs.labels import kind_label, phase_label
from fivs.audits.services import audit_scores, current_acknowledgement
from fivs.reports import pdf
from fivs.reports.fonts import BOLD
from fivs.timeutil import to_local, utcnow

MAX_FINDINGS = 6  # the lowest-scored answers shown: the record stays one page
COMMENT_MAX = 600  # characters of the acknowledgement's comment printed (the app keeps all of it)
NOTE_MAX = 160


def record_title() -> str:
    return _("5S AUDIT RECORD")


def build_audit_record(audit: Audit, lang: str) -> bytes:
    """The record's PDF bytes in `lang`; the caller makes sure the audit is submitted."""
    with force_locale(lang):
        st = pdf.styles()
        centred = ParagraphStyle("centred", parent=st["body"], alignment=TA_CENTER)
        centred_bold = ParagraphStyle("centred-bold", parent=centred, fontName=BOLD)
        title = ParagraphStyle("record-title", parent=st["title"], alignment=TA_CENTER)
        scores = audit_scores(audit)
        ack = current_acknowledgement(audit)
        story = [motto(audit, centred, centred_bold), Spacer(1, 10),
                 pdf.para(record_title(), title),
                 pdf.para(_("%(site)s · %(round)s", site=audit.site.name, round=phase_label(audit.phase)), centred),
                 Spacer(1, 8), facts(audit, lang, st), Spacer(1, 6),
                 pdf.para(_("Scores"), st["h3"]), scores_table(scores, lang, st),
                 pdf.para(_("Main findings"), st["h3"]), *findings(audit, lang, st),
                 pdf.para(_("Acknowledgement by the site"), st["h3"]), acknowledgement(ack, st),
                 Spacer(1, 10), signatures(audit, ack, centred, centred_bold)]
        return pdf.render(story, title=f"{record_title()} · {audit.site.name}", generated=to_local(utcnow()),
                          lang=lang)


def motto(audit: Audit, centred, centred_bold):
    """The site on the left, the national motto on the right (the heading of an official paper)."""
    left = [pdf.para(audit.site.name.upper(), centred_bold), pdf.para(_("Code: %(code)s", code=audit.site.code), centred)]
    right = [pdf.para(_("SOCIALIST REPUBLIC OF VIETNAM"), centred_bold),
             pdf.para(_("Independence - Freedom - Happiness"), centred_bold),
             pdf.para("—————", centred)]
    return pdf.layout([[left, right]], [pdf.CONTENT_WIDTH * 0.42, pdf.CONTENT_WIDTH * 0.58])


def facts(audit: Audit, lang: str, st: dict):
    auditor = audit.auditor.full_name or audit.auditor.username
    rows = [[_("Site"), f"{audit.site.name} ({audit.site.code})", _("District"), audit.site.former_district or "—"],
            [_("Round"), phase_label(audit.phase), _("Kind"), kind_label(audit.kind)],
            [_("Date"), pdf.day(audit.audit_date), _("Auditor"), auditor],
            [_("Checklist"), f"{audit.template.title(lang)} v{audit.template.version}", _("Submitted"),
             to_local(audit.submitted_at).strftime("%d/%m/%Y %H:%M") if audit.submitted_at else "—"]]
    w = pdf.CONTENT_WIDTH
    return pdf.table(rows, [0.14 * w, 0.38 * w, 0.14 * w, 0.34 * w], st["cell"], header_rows=0)


def scores_table(scores: scoring.AuditScores, lang: str, st: dict):
    rows = [[_("Category"), "%", _("Band")]]
    rows += [[labels.s_label(s), pdf.pct(scores.by_s[s], lang), pdf.band_text(scores.by_s[s])] for s in scoring.S_KEYS]
    rows.append([_("Overall"), pdf.pct(scores.overall, lang), pdf.band_text(scores.overall)])
    return pdf.table(rows, [160, 70, 110], st["cell"], align_right_from=1)


def findings(audit: Audit, lang: str, st: dict) -> list:
    """The lowest-scored answers (below the top of the scale), with their notes."""
    weak = sorted((a for a in audit.answers if a.score is not None and a.score < scoring.MAX_SCORE),
                  key=lambda a: (a.score, a.item.zone.position, a.item.position, a.room))[:MAX_FINDINGS]
    if not weak:
        return [pdf.para(_("No item scored below %(max)d.", max=scoring.MAX_SCORE), st["body"])]
    rows = [[_("Item"), _("Zone"), _("Score"), _("Note")]]
    for a in weak:
        zone = a.item.zone.name(lang) + (f" ({a.room})" if a.room else "")
        rows.append([f"{a.item.code}: {a.item.text(lang)}", zone, f"{a.score}/{scoring.MAX_SCORE}",
                     _shorten(a.note, NOTE_MAX)])
    w = pdf.CONTENT_WIDTH
    return [pdf.table(rows, [0.42 * w, 0.2 * w, 0.08 * w, 0.3 * w], st["cell"])]


def acknowledgement(ack, st: dict):
    if ack is None:
        return pdf.para(_("Not acknowledged by the site yet."), st["body"])
    name = ack.user.full_name or ack.user.username
    text = _("Acknowledged by %(name)s on %(time)s.", name=name,
             time=to_local(ack.created_at).strftime("%d/%m/%Y %H:%M"))
    if ack.comment:
        text += " " + _("Comment: %(comment)s", comment=_shorten(ack.comment, COMMENT_MAX))
    return pdf.para(text, st["body"])


def signatures(audit: Audit, ack, centred, centred_bold):
    """Two blocks: the auditor and the site's representative, each with role, name and date."""
    def block(heading: str, role: str, name: str, when: str) -> list:
        return [pdf.para(heading, centred_bold), pdf.para(_("(Signature and full name)"), centred),
                Spacer(1, 34), pdf.para(name or "……………………………", centred_bold),
                pdf.para(_("Role: %(role)s", role=role), centred),
                pdf.para(_("Date: %(date)s", date=when), centred)]

    auditor = audit.auditor.full_name or audit.auditor.username
    rep_name = (ack.user.full_name or ack.user.username) if ack else ""
    rep_when = to_local(ack.created_at).strftime("%d/%m/%Y") if ack else "……/……/……"
    left = block(_("THE AUDITOR"), labels.role_label(audit.auditor.role), auditor, pdf.day(audit.audit_date))
    right = block(_("THE SITE'S REPRESENTATIVE"), labels.role_label("principal"), rep_name, rep_when)
    return pdf.layout([[left, right]], [pdf.CONTENT_WIDTH / 2, pdf.CONTENT_WIDTH / 2])


def _shorten(text: str | None, limit: int) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
