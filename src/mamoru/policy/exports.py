"""A policy version as JSON, YAML or PDF (the page's download and ``mamoru policy export``)."""

from __future__ import annotations

import json
from typing import Any

import yaml
from django.utils.translation import gettext as _

from mamoru.policy.choices import ClauseKind
from mamoru.policy.models import PolicyVersion

FORMATS = ("json", "yaml", "pdf")


def version_data(version: PolicyVersion) -> dict[str, Any]:
    """The document's title, version and clauses (number, heading, text; requirements with their
    attributes); the glossary when the version has one."""
    clauses = []
    for c in version.clause_set.order_by("order"):
        item: dict[str, Any] = {"address": c.address, "number": c.number, "heading": c.heading, "text": c.text,
                                "level": c.level}
        if c.kind == ClauseKind.REQUIREMENT:
            item.update(roles=c.roles, tiers=c.tiers, audience=c.audience, evidence=c.evidence,
                        implements=c.implements)
        clauses.append(item)
    data: dict[str, Any] = {
        "document": version.document.slug, "title": version.document.title, "version": version.number,
        "status": version.status, "effective_on": version.effective_on.isoformat() if version.effective_on else None,
        "clauses": clauses,
    }
    glossary = list(version.glossaryterm_set.order_by("order"))
    if glossary:
        data["glossary"] = [{"term": g.term, "definition": g.definition, "clause": g.clause} for g in glossary]
    return data


def version_export(version: PolicyVersion, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(version_data(version), ensure_ascii=False, indent=2).encode()
    if fmt == "yaml":
        return yaml.safe_dump(version_data(version), allow_unicode=True, sort_keys=False).encode()
    if fmt == "pdf":
        return _pdf(version)
    raise ValueError(fmt)


def _pdf(version: PolicyVersion) -> bytes:
    from mamoru.reports.pdf import PdfClause, PdfDocument, render_pdf

    effective = version.effective_on.isoformat() if version.effective_on else _("not yet in force")
    clauses = [PdfClause(number=c.number, heading=c.heading, text=c.text, level=min(c.level, 2))
               for c in version.clause_set.order_by("order")]
    doc = PdfDocument(
        title=version.document.title, subtitle=version.document.municipality.name,
        version_label=_("%(n)s (%(status)s)") % {"n": version.number, "status": version.get_status_display()},
        effective_date=effective, clauses=clauses,
        glossary=[(g.term, g.definition) for g in version.glossaryterm_set.order_by("order")],
        labels={"toc": _("Contents"), "version": _("Version"), "effective": _("Effective date"),
                "glossary": _("Definitions"), "page": _("Page {page}")})
    return render_pdf(doc)
