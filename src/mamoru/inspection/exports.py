"""Self-inspection results as XLSX and PDF (for the CISO and the 情報セキュリティ委員会); the audit report PDF."""

from __future__ import annotations

import io
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.core.exports import csv_safe
from mamoru.inspection.choices import AnswerValue
from mamoru.inspection.models import Engagement, fiscal_year_label
from mamoru.inspection.selectors import DepartmentProgress, Rate, Results


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _change(rate: Rate) -> str:
    return "—" if rate.change is None else f"{rate.change:+.1f}"


def results_xlsx(results: Results, progress: list[DepartmentProgress]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    bold = Font(bold=True)
    previous = fiscal_year_label(results.previous.fiscal_year) if results.previous else _("previous year")
    values = [(v.value, str(v.label)) for v in AnswerValue]

    def sheet(title: str, header: list[str], rows: list[list[Any]], first: bool = False) -> None:
        ws = wb.active if first else wb.create_sheet()
        ws.title = title[:31]
        ws.append(header)
        for cell in ws[1]:
            cell.font = bold
        for row in rows:
            ws.append([csv_safe(v) for v in row])
        ws.freeze_panes = "A2"

    def rate_rows(rates: list[Rate], with_label: bool = True) -> list[list[Any]]:
        return [[r.key, *([r.label] if with_label else []), *[r.counts.get(v, 0) for v, _label in values],
                 r.rate, r.previous, r.change] for r in rates]

    rate_header = [*[label for _v, label in values], _("compliance rate (%)"),
                   _("%(year)s (%%)") % {"year": previous}, _("change (points)")]
    sheet(_("Progress"), [_("department"), _("assigned"), _("submitted"), _("draft saved"), _("not started"),
                          _("submitted (%)")],
          [[p.name, p.assigned, p.submitted, p.draft, p.not_started, p.percent] for p in progress], first=True)
    sheet(_("Departments"), [_("department"), *rate_header],
          [[r.label, *row[1:]] for r, row in zip(results.departments, rate_rows(results.departments, False),
                                                 strict=True)])
    sheet(_("Chapters"), [_("chapter"), _("heading"), *rate_header], rate_rows(results.chapters))
    sheet(_("Requirements"), [_("requirement"), _("question"), *rate_header], rate_rows(results.requirements))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def results_pdf(results: Results, progress: list[DepartmentProgress]) -> bytes:
    from mamoru.reports.pdf import PdfClause, PdfDocument, render_pdf

    campaign = results.campaign
    prev = fiscal_year_label(results.previous.fiscal_year) if results.previous else None

    def line(r: Rate, label: str) -> str:
        text = _("%(label)s: %(rate)s (%(n)d answers)") % {"label": label, "rate": _pct(r.rate), "n": r.answered}
        if prev:
            text += _("; %(year)s %(old)s, change %(change)s") % {"year": prev, "old": _pct(r.previous),
                                                                  "change": _change(r)}
        return text

    submitted = sum(p.submitted for p in progress)
    assigned = sum(p.assigned for p in progress)
    clauses = [
        PdfClause(number="1", heading=_("Overview"), text="\n".join([
            _("Campaign: %(title)s (%(fy)s), answers due %(due)s.") % {
                "title": campaign.title, "fy": fiscal_year_label(campaign.fiscal_year), "due": campaign.due_on},
            _("Submitted: %(s)d of %(a)d checklists.") % {"s": submitted, "a": assigned},
            line(results.overall, _("Overall compliance rate")),
            _("The compliance rate counts “yes” as 1 and “partly” as ½ of the applicable answers; “not "
              "applicable” is left out. Only submitted checklists count."),
        ])),
        PdfClause(number="2", heading=_("Progress per department"), text="\n".join(
            _("%(dept)s: %(s)d of %(a)d submitted (%(p).1f%%)") % {"dept": p.name, "s": p.submitted,
                                                                    "a": p.assigned, "p": p.percent}
            for p in progress) or _("None.")),
        PdfClause(number="3", heading=_("Compliance rate per department"), text="\n".join(
            line(r, r.label) for r in results.departments) or _("None.")),
        PdfClause(number="4", heading=_("Compliance rate per chapter"), text="\n".join(
            line(r, r.label) for r in results.chapters) or _("None.")),
        PdfClause(number="5", heading=_("The weakest requirements"), text="" if results.weakest else _("None.")),
    ]
    for i, r in enumerate(results.weakest, start=1):
        clauses.append(PdfClause(number=f"5.{i}", heading=f"{r.key}", text="\n".join([r.label, line(r, r.key)]),
                                 level=1))
    doc = PdfDocument(
        title=_("Self-inspection results"), subtitle=f"{campaign.municipality.name} {campaign.title}",
        version_label=fiscal_year_label(campaign.fiscal_year),
        effective_date=timezone.localdate().isoformat(), clauses=clauses,
        labels={"toc": _("Contents"), "version": _("Fiscal year"), "effective": _("Printed on"),
                "glossary": _("Definitions"), "page": _("Page {page}")})
    return render_pdf(doc)


def engagement_pdf(engagement: Engagement) -> bytes:
    """The audit report: scope, auditors, conclusion, findings with recommendations and corrective actions."""
    from mamoru.reports.pdf import PdfClause, PdfDocument, render_pdf

    sections = ", ".join(s.name for s in engagement.sections.all())
    systems = ", ".join(s.name for s in engagement.systems.all()) or "—"
    auditors = ", ".join(p.full_name for p in engagement.auditors.all())
    clauses = [
        PdfClause(number="1", heading=_("Scope"), text="\n".join([
            _("Audited sections: %(v)s") % {"v": sections},
            _("Requirements in scope: %(v)s") % {"v": ", ".join(engagement.requirements) or _("all")},
            _("Information systems in scope: %(v)s") % {"v": systems},
            _("Auditors: %(v)s") % {"v": auditors},
            _("Fieldwork: %(a)s – %(b)s") % {"a": engagement.starts_on, "b": engagement.ends_on},
        ])),
        PdfClause(number="2", heading=_("Overall conclusion"), text=engagement.conclusion or _("Not yet reported.")),
        PdfClause(number="3", heading=_("Findings"), text="" if engagement.findings.exists() else _("None.")),
    ]
    for f in engagement.findings.select_related("org_unit").prefetch_related("actions__owner").order_by("number"):
        lines = [
            _("Section: %(unit)s; severity: %(sev)s; requirement: %(req)s; status: %(status)s") % {
                "unit": f.org_unit.name, "sev": f.get_severity_display(), "req": f.requirement or "—",
                "status": f.get_status_display()},
            _("Evidence: %(v)s") % {"v": f.evidence},
            _("Recommendation: %(v)s") % {"v": f.recommendation},
        ]
        for a in f.actions.all():
            lines.append(_("Corrective action (%(owner)s, due %(due)s, %(status)s): %(text)s") % {
                "owner": a.owner.full_name, "due": a.due_on, "status": a.get_status_display(),
                "text": a.description})
            if a.verification_note:
                lines.append(_("Follow-up: %(v)s") % {"v": a.verification_note})
        clauses.append(PdfClause(number=f"3.{f.number}", heading=f.title, text="\n".join(lines), level=1))
    doc = PdfDocument(
        title=_("Information security audit report"), subtitle=f"{engagement.plan.municipality.name} "
                                                               f"{engagement.title}",
        version_label=fiscal_year_label(engagement.plan.first_year),
        effective_date=(engagement.reported_on or timezone.localdate()).isoformat(), clauses=clauses,
        labels={"toc": _("Contents"), "version": _("Fiscal year"), "effective": _("Reported on"),
                "glossary": _("Definitions"), "page": _("Page {page}")})
    return render_pdf(doc)
