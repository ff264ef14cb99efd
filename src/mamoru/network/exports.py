"""The verification report as a PDF (for the CISO and the 情報セキュリティ委員会)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from mamoru.network.models import VerificationRun


def _example(e: dict[str, Any] | None) -> str:
    if not e:
        return ""
    return _("Example: %(src)s → %(dst)s %(proto)s/%(dport)s (in %(in)s, out %(out)s)") % {
        "src": e["src"], "dst": e["dst"], "proto": e["proto"], "dport": e["dport"], "in": e.get("in") or "-",
        "out": e.get("out") or "-"}


def _rule(r: dict[str, Any] | None) -> str:
    return _("Rule: %(file)s line %(line)s: %(text)s") % r if r else ""


def run_report_pdf(run: VerificationRun) -> bytes:
    from mamoru.reports.pdf import PdfClause, PdfDocument, render_pdf

    report = run.report or {}
    clauses: list[PdfClause] = []

    def section(number: str, heading: str, items: list[dict[str, Any]], empty: str) -> None:
        clauses.append(PdfClause(number=number, heading=heading, text="" if items else empty, level=0))
        for i, item in enumerate(items, start=1):
            pair = f"{item['from_zone']} → {item['to_zone']} " if item.get("from_zone") else ""
            clause = _(" (clause %(c)s)") % {"c": item["clause"]} if item.get("clause") else ""
            text = "\n".join(x for x in (item.get("message", ""), _rule(item.get("rule")),
                                         _example(item.get("example"))) if x)
            clauses.append(PdfClause(number=f"{number}.{i}", heading=f"{item['firewall']} {pair}{clause}",
                                     text=text, level=1))

    section("1", _("Violations of the zone policy"), report.get("violations", []), _("None."))
    section("2", _("Warnings (spoofed sources, shadowed and redundant rules)"), report.get("warnings", []),
            _("None."))
    section("3", _("Traffic the verifier could not judge"), report.get("unsupported", []), _("None."))
    clauses.append(PdfClause(number="4", heading=_("Allowed traffic per zone pair"), text="", level=0))
    for i, item in enumerate(report.get("allowed", []), start=1):
        clauses.append(PdfClause(number=f"4.{i}", heading=f"{item['firewall']} {item['from_zone']} → "
                                                          f"{item['to_zone']}", text="\n".join(item["rules"]),
                                 level=1))
    if run.error:
        clauses.insert(0, PdfClause(number="0", heading=_("Error"), text=run.error, level=0))
    doc = PdfDocument(
        title=_("Three-tier segmentation verification"), subtitle=run.municipality.name,
        version_label=timezone.localtime(run.created_at).strftime("%Y-%m-%d %H:%M"),
        effective_date=str(run.get_status_display()), clauses=clauses,
        labels={"toc": _("Contents"), "version": _("Run"), "effective": _("Result"),
                "glossary": _("Definitions"), "page": _("Page {page}")})
    return render_pdf(doc)
