"""Read-side queries of the policy library; every one starts from a restricted queryset."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from mamoru.core.text import normalize
from mamoru.policy.choices import VersionStatus
from mamoru.policy.models import Acknowledgement, Clause, GlossaryTerm, PolicyDocument, PolicyVersion


def document_list(user: Any) -> QuerySet[PolicyDocument]:
    return PolicyDocument.objects.restrict(user, "view").select_related("municipality")


def in_force(versions: QuerySet[PolicyVersion]) -> PolicyVersion | None:
    """Of ``versions``, the one in force: the latest published one whose effective date has come (else the
    latest published one)."""
    published = versions.filter(status=VersionStatus.PUBLISHED).order_by("-number")
    return published.filter(effective_on__lte=timezone.localdate()).first() or published.first()


def current_version(document: PolicyDocument, user: Any) -> PolicyVersion | None:
    return in_force(PolicyVersion.objects.restrict(user, "view").filter(document=document))


@dataclass
class ClauseNode:
    clause: Clause
    children: list[ClauseNode] = field(default_factory=list)


def clause_tree(version: PolicyVersion) -> list[ClauseNode]:
    nodes: dict[int, ClauseNode] = {}
    roots: list[ClauseNode] = []
    for clause in version.clause_set.order_by("order"):
        node = nodes[clause.pk] = ClauseNode(clause)
        (nodes[clause.parent_id].children if clause.parent_id in nodes else roots).append(node)
    return roots


def glossary_linker(version: PolicyVersion) -> Any:
    """A function turning clause text into HTML where each defined term links to its glossary entry."""
    terms = list(GlossaryTerm.objects.filter(version=version).order_by("order"))
    if not terms:
        def plain(text: str) -> SafeString:
            return escape(text)

        plain.do_not_call_in_templates = True  # type: ignore[attr-defined]
        return plain
    by_term = {t.term: t for t in terms}
    pattern = re.compile("|".join(re.escape(t) for t in sorted(by_term, key=len, reverse=True)))

    def link(text: str) -> SafeString:
        parts: list[str] = []
        last = 0
        for match in pattern.finditer(text):
            parts.append(escape(text[last:match.start()]))
            term = by_term[match.group(0)]
            parts.append(format_html('<a class="term" href="#term-{}" title="{}">{}</a>', term.order,
                                     term.definition[:200], match.group(0)))
            last = match.end()
        parts.append(escape(text[last:]))
        return mark_safe("".join(parts))  # noqa: S308 - every part escaped above

    link.do_not_call_in_templates = True  # type: ignore[attr-defined]  (a filter argument, not a value)
    return link


# --- diff -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClauseDiff:
    address: str
    heading: str
    status: str  # "added", "removed", "changed", "same"
    left: SafeString
    right: SafeString


def _char_diff(a: str, b: str) -> tuple[SafeString, SafeString]:
    """Character by character (Japanese has no spaces to split words on): removed text marked on the left,
    added text on the right."""
    left: list[str] = []
    right: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            left.append(escape(a[i1:i2]))
            right.append(escape(b[j1:j2]))
            continue
        if i2 > i1:
            left.append(format_html("<del>{}</del>", a[i1:i2]))
        if j2 > j1:
            right.append(format_html("<ins>{}</ins>", b[j1:j2]))
    return mark_safe("".join(left)), mark_safe("".join(right))  # noqa: S308 - parts escaped above


def version_diff(old: PolicyVersion, new: PolicyVersion) -> list[ClauseDiff]:
    """Clause by clause, matched by address, in the new version's order; a removed clause is shown where it
    stood, before the next clause that both versions have (or an added one)."""
    def text(c: Clause) -> str:
        return f"{c.heading}\n{c.text}".strip()

    def removed_row(c: Clause) -> ClauseDiff:
        return ClauseDiff(c.address, c.heading, "removed", format_html("<del>{}</del>", text(c)), mark_safe(""))

    before = {c.address: c for c in old.clause_set.order_by("order")}
    after = list(new.clause_set.order_by("order"))
    kept = {c.address for c in after}
    removed = [c for c in before.values() if c.address not in kept]
    rows: list[ClauseDiff] = []
    for clause in after:
        prior = before.get(clause.address)
        while removed and (prior is None or removed[0].order < prior.order):
            rows.append(removed_row(removed.pop(0)))
        if prior is None:
            rows.append(ClauseDiff(clause.address, clause.heading, "added", mark_safe(""),
                                   format_html("<ins>{}</ins>", text(clause))))
            continue
        left, right = _char_diff(text(prior), text(clause))
        rows.append(ClauseDiff(clause.address, clause.heading, "same" if text(prior) == text(clause) else "changed",
                               left, right))
    rows.extend(removed_row(c) for c in removed)
    return rows


# --- acknowledgements -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SectionProgress:
    unit: str
    total: int
    done: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def acknowledgement_progress(version: PolicyVersion, user: Any) -> list[SectionProgress]:
    rows = (Acknowledgement.objects.restrict(user, "view").filter(version=version)
            .values("org_unit__name", "org_unit__path")
            .annotate(total=Count("pk"), done=Count("pk", filter=Q(acknowledged_at__isnull=False)))
            .order_by("org_unit__path"))
    return [SectionProgress(r["org_unit__name"], r["total"], r["done"]) for r in rows]


# --- search -----------------------------------------------------------------------------------------

def clause_search(user: Any, query: str) -> QuerySet[Clause]:
    """Clauses of the versions in force that the user may read, containing every term of ``query``."""
    terms = normalize(query).split()
    qs = Clause.objects.restrict(user, "view").filter(version__status=VersionStatus.PUBLISHED)
    for term in terms:
        qs = qs.filter(search_text__contains=term)
    latest = {d.pk: v.pk for d in document_list(user) if (v := current_version(d, user)) is not None}
    return qs.filter(version__in=list(latest.values())).select_related("version__document").order_by(
        "version__document__order", "order")
