"""The requirement catalogue (対策基準) as YAML or XLSX: export a version, import a city's own as a new draft.

The catalogue is the clause tree of a standards version (docs/decisions/0007): chapter (level 0) → section
(level 1) → requirement (level 2). Import validates the whole file first (every problem listed with its
place) and then writes one new draft version, or nothing.
"""

from __future__ import annotations

import io
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from mamoru.policy.choices import ClauseKind, DocumentKind, VersionStatus
from mamoru.policy.content.loader import (
    Catalogue,
    CatalogueChapter,
    CatalogueError,
    CatalogueSection,
    Requirement,
    catalogue_to_yaml,
    load_catalogue,
)
from mamoru.policy.models import Clause, PolicyDocument, PolicyVersion

XLSX_COLUMNS = ("id", "chapter", "chapter_heading", "section", "section_heading", "text", "roles", "tiers",
                "audience", "evidence", "implements")
MAX_BYTES = 10 * 1024 * 1024


def version_catalogue(version: PolicyVersion) -> Catalogue:
    clauses = list(version.clause_set.order_by("order"))
    by_parent: dict[int | None, list[Clause]] = {}
    for c in clauses:
        by_parent.setdefault(c.parent_id, []).append(c)
    chapters = []
    for chapter in by_parent.get(None, []):
        sections = []
        for section in by_parent.get(chapter.pk, []):
            requirements = tuple(
                Requirement(id=r.address, chapter=chapter.address, section=section.address, text=r.text,
                            roles=tuple(r.roles), tiers=tuple(r.tiers), evidence=r.evidence, implements=r.implements,
                            audience=tuple(r.audience))
                for r in by_parent.get(section.pk, []) if r.kind == ClauseKind.REQUIREMENT)
            sections.append(CatalogueSection(number=section.address, heading=section.heading,
                                             requirements=requirements))
        chapters.append(CatalogueChapter(number=chapter.address, heading=chapter.heading, sections=tuple(sections)))
    return Catalogue(title=version.document.title, chapters=tuple(chapters))


def catalogue_export(version: PolicyVersion, fmt: str) -> bytes:
    catalogue = version_catalogue(version)
    if fmt == "yaml":
        return catalogue_to_yaml(catalogue).encode()
    if fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "requirements"
        ws.append(list(XLSX_COLUMNS))
        for chapter in catalogue.chapters:
            for section in chapter.sections:
                for r in section.requirements:
                    ws.append([r.id, chapter.number, chapter.heading, section.number, section.heading, r.text,
                               ", ".join(r.roles), ", ".join(r.tiers), ", ".join(r.audience), r.evidence,
                               r.implements])
        ws.freeze_panes = "A2"
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    raise ValueError(fmt)


def _xlsx_to_yaml(data: bytes, title: str) -> str:
    """An XLSX catalogue (the export's columns) as the YAML structure, for one validation path."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # any unreadable workbook is reported the same way
        raise CatalogueError([_("The file is not a readable Excel workbook (%(error)s).") % {"error": exc}]) from exc
    rows = wb.active.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, ())]
    missing = [c for c in XLSX_COLUMNS if c not in header]
    if missing:
        raise CatalogueError([_("Row 1: missing columns: %(columns)s") % {"columns": ", ".join(missing)}])
    at = {name: header.index(name) for name in XLSX_COLUMNS}
    chapters: dict[str, dict[str, Any]] = {}
    for values in rows:
        if not any(v not in (None, "") for v in values):
            continue

        def cell(name: str, values: tuple[Any, ...] = values) -> str:
            v = values[at[name]] if at[name] < len(values) else None
            return "" if v is None else str(v).strip()

        def codes(name: str) -> list[str]:
            return [c.strip() for c in cell(name).replace("、", ",").split(",") if c.strip()]

        chapter = chapters.setdefault(cell("chapter"), {"number": cell("chapter"),
                                                        "heading": cell("chapter_heading"), "sections": {}})
        section = chapter["sections"].setdefault(cell("section"), {
            "number": cell("section"), "heading": cell("section_heading"), "requirements": []})
        section["requirements"].append({
            "id": cell("id"), "text": cell("text"), "roles": codes("roles"), "tiers": codes("tiers"),
            "evidence": cell("evidence"), "implements": cell("implements"), "audience": codes("audience")})
    import yaml

    data_tree = {"title": title, "chapters": [
        {**ch, "sections": list(ch["sections"].values())} for ch in chapters.values()]}
    return yaml.safe_dump(data_tree, allow_unicode=True, sort_keys=False)


@transaction.atomic
def catalogue_import(*, document: PolicyDocument, data: bytes, filename: str, actor: Any) -> PolicyVersion:
    """A new draft of the standards from a YAML or XLSX catalogue; ``CatalogueError`` lists every problem."""
    from mamoru.core import roles as role_table
    from mamoru.policy import services
    from mamoru.policy.content.loader import ROLE_CODES
    from mamoru.policy.defaults import catalogue_clauses

    if document.kind != DocumentKind.STANDARDS:
        raise CatalogueError([_("Only the standards hold a requirement catalogue.")])
    if len(data) > MAX_BYTES:
        raise CatalogueError([_("The file is larger than 10 MB.")])
    text: str | bytes = _xlsx_to_yaml(data, document.title) if filename.lower().endswith(".xlsx") else data
    basic = PolicyVersion.objects.filter(document__municipality=document.municipality,
                                         document__kind=DocumentKind.BASIC_POLICY,
                                         status=VersionStatus.PUBLISHED).order_by("-number").first()
    known = set(basic.clause_set.values_list("address", flat=True)) if basic else None
    catalogue = load_catalogue(text, known_clauses=known,
                               role_codes=ROLE_CODES | {r.code for r in role_table.ROLES})
    if document.versions.exclude(status=VersionStatus.PUBLISHED).exists():
        raise CatalogueError([_("This document already has a version in progress; finish or continue it.")])
    return services.version_create(document=document, clauses=catalogue_clauses(catalogue), actor=actor,
                                   change_summary=_("Imported from %(file)s.") % {"file": filename})
