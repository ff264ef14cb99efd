"""Load the default policy content: the basic policy (情報セキュリティ基本方針) and the requirement catalogue
(情報セキュリティ対策基準) shipped as YAML next to this module.

Pure Python (no Django), so models, management commands and tests can all use it. Every loader reads YAML with
``yaml.safe_load`` only. A malformed catalogue raises :class:`CatalogueError` listing *every* problem with its
location (``chapters[3].sections[0].requirements[2].id: duplicate id 4.1-01``); the messages are English, a caller
translates them.

Clause addresses: section ``"6"``, sub-clause ``"6(3)"``, item ``"6(3)②"`` — ASCII digits and parentheses for the
numbered levels, the source's own marks (①②…, ア, (ア)) kept for deeper levels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

CONTENT_DIR = Path(__file__).resolve().parent
BASIC_POLICY_PATH = CONTENT_DIR / "basic_policy.yaml"
CATALOGUE_PATH = CONTENT_DIR / "standards.yaml"

TIER_CODES: frozenset[str] = frozenset({"mynumber", "lgwan", "internet", "standalone"})
AUDIENCE_CODES: frozenset[str] = frozenset({"all_staff", "security_manager", "system_admin"})
# The role codes of mamoru.core.roles.ROLES (mirrored here to stay Django-free; a test keeps them in step) plus
# "staff": 職員等, everyone without a role, who carries most day-to-day obligations.
ROLE_CODES: frozenset[str] = frozenset({
    "ciso", "chief", "dept_head", "section_manager", "system_admin", "system_operator", "csirt", "committee",
    "auditor", "contractor", "staff",
})

# Numbering marks per level: level 1 "6", level 2 "(3)", deeper levels ①…⑳, ア…ン or (ア)…(ン).
_DEEP_MARK = r"(?:[①-⑳]|[ア-ン]|\([ア-ン]\))"
_NUMBER_RE = {1: re.compile(r"[1-9]\d*"), 2: re.compile(r"\([1-9]\d*\)")}
_DEEP_NUMBER_RE = re.compile(_DEEP_MARK)
ADDRESS_RE = re.compile(rf"[1-9]\d*(?:\([1-9]\d*\){_DEEP_MARK}*)?")

_FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def display_label(number: str, level: int) -> str:
    """The printed label of a clause number, after the source's typography.

    Sections print in full-width digits (``"10"`` → ``"１０"``); sub-clauses print in full-width parentheses with
    full-width digits for one digit and ASCII digits for two (``"(1)"`` → ``"（１）"``, ``"(10)"`` → ``"（10）"``);
    deeper marks print as they are.
    """
    if level == 1:
        return number.translate(_FULLWIDTH_DIGITS)
    match = _NUMBER_RE[2].fullmatch(number) if level == 2 else None
    if match is not None:
        digits = number[1:-1]
        return "（" + (digits.translate(_FULLWIDTH_DIGITS) if len(digits) == 1 else digits) + "）"
    return number


# --------------------------------------------------------------------------------------------------- data classes


@dataclass(frozen=True)
class ClauseData:
    """A section (level 1), sub-clause (level 2) or item (level 3+) of the basic policy."""

    address: str
    number: str
    heading: str
    text: str  # one paragraph per line; "" when the clause only has children
    level: int
    children: tuple[ClauseData, ...] = ()

    @property
    def label(self) -> str:
        return display_label(self.number, self.level)

    @property
    def paragraphs(self) -> tuple[str, ...]:
        return tuple(self.text.split("\n")) if self.text else ()


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    definition: str
    clause: str


@dataclass(frozen=True)
class BasicPolicy:
    title: str
    sections: tuple[ClauseData, ...]
    glossary: tuple[GlossaryTerm, ...]
    series: str = ""  # the document family (情報セキュリティポリシー), without a city name


@dataclass(frozen=True)
class Requirement:
    id: str
    chapter: str
    section: str
    text: str
    roles: tuple[str, ...]
    tiers: tuple[str, ...]  # empty: applies to every tier / not tier-specific
    evidence: str
    implements: str  # a basic-policy clause address, e.g. "6(4)"
    audience: tuple[str, ...]


@dataclass(frozen=True)
class CatalogueSection:
    number: str
    heading: str
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class CatalogueChapter:
    number: str
    heading: str
    sections: tuple[CatalogueSection, ...]


@dataclass(frozen=True)
class Catalogue:
    title: str
    chapters: tuple[CatalogueChapter, ...]


class ContentError(ValueError):
    """Content that cannot be loaded; ``problems`` lists every problem, each prefixed with its location."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class CatalogueError(ContentError):
    """A requirement catalogue (standards.yaml or a city's own) that is malformed or inconsistent."""


class BasicPolicyError(ContentError):
    """A basic-policy file that is malformed or inconsistent."""


# ------------------------------------------------------------------------------------------------ shared helpers

_Problems = list[tuple[str, str]]  # (location, message)


class _Reader:
    """Typed access to the untyped result of ``yaml.safe_load``, recording problems instead of raising."""

    def __init__(self) -> None:
        self.problems: _Problems = []

    def add(self, loc: str, message: str) -> None:
        self.problems.append((loc, message))

    def mapping(self, value: object, loc: str, fields: Iterable[str]) -> dict[str, object] | None:
        if not isinstance(value, dict):
            self.add(loc or "(top level)", f"expected a mapping, got {_kind(value)}")
            return None
        allowed = set(fields)
        for key in value:
            if key not in allowed:
                self.add(f"{loc}.{key}" if loc else str(key), "unknown field")
        return {str(k): v for k, v in value.items()}

    def string(self, data: dict[str, object], key: str, loc: str, *, required: bool = True) -> str:
        where = f"{loc}.{key}" if loc else key
        if key not in data:
            if required:
                self.add(where, "missing field")
            return ""
        value = data[key]
        if value is None:
            return ""
        if isinstance(value, bool) or not isinstance(value, str | int):
            hint = " (quote it)" if isinstance(value, float) else ""
            self.add(where, f"expected a string, got {_kind(value)}{hint}")
            return ""
        return str(value)

    def items(self, data: dict[str, object], key: str, loc: str, *, required: bool = True) -> list[object]:
        where = f"{loc}.{key}" if loc else key
        if key not in data:
            if required:
                self.add(where, "missing field")
            return []
        value = data[key]
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(where, f"expected a list, got {_kind(value)}")
            return []
        return list(value)

    def strings(self, data: dict[str, object], key: str, loc: str) -> tuple[str, ...]:
        out: list[str] = []
        for i, value in enumerate(self.items(data, key, loc)):
            if isinstance(value, str):
                out.append(value)
            else:
                self.add(f"{loc}.{key}[{i}]", f"expected a string, got {_kind(value)}")
        return tuple(out)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


# libyaml's safe loader when PyYAML was built with it (the wheels are): the same documents, about 8x faster.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(text: str | bytes, error: type[ContentError]) -> object:
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        raise error([f"yaml: malformed YAML: {' '.join(str(exc).split())}"]) from exc


def _covered(loc: str, prefixes: set[str]) -> bool:
    """Whether ``loc`` is, or lies inside, one of ``prefixes`` ("(top level)" covers everything)."""
    return "(top level)" in prefixes or any(loc == p or loc.startswith((p + ".", p + "[")) for p in prefixes)


# --------------------------------------------------------------------------------------------------- basic policy

_CLAUSE_FIELDS = ("number", "address", "heading", "text", "clauses")


def load_basic_policy(path: Path | None = None) -> BasicPolicy:
    """Read the basic policy (default: the shipped ``basic_policy.yaml``); raise :class:`BasicPolicyError`."""
    source = path if path is not None else BASIC_POLICY_PATH
    data = _parse_yaml(source.read_bytes(), BasicPolicyError)
    reader = _Reader()
    policy = _build_policy(data, reader)
    problems = [f"{loc}: {msg}" for loc, msg in reader.problems]
    if not problems:
        problems = validate_basic_policy(policy)
    if problems:
        raise BasicPolicyError(problems)
    return policy


def _build_policy(data: object, reader: _Reader) -> BasicPolicy:
    top = reader.mapping(data, "", ("title", "series", "sections", "glossary"))
    if top is None:
        return BasicPolicy(title="", sections=(), glossary=())
    sections = tuple(
        _build_clause(raw, f"sections[{i}]", 1, "", reader)
        for i, raw in enumerate(reader.items(top, "sections", ""))
    )
    glossary: list[GlossaryTerm] = []
    for i, raw in enumerate(reader.items(top, "glossary", "", required=False)):
        loc = f"glossary[{i}]"
        entry = reader.mapping(raw, loc, ("term", "definition", "clause"))
        if entry is None:
            continue
        glossary.append(GlossaryTerm(term=reader.string(entry, "term", loc),
                                     definition=reader.string(entry, "definition", loc),
                                     clause=reader.string(entry, "clause", loc)))
    return BasicPolicy(title=reader.string(top, "title", ""), sections=sections, glossary=tuple(glossary),
                       series=reader.string(top, "series", "", required=False))


def _build_clause(raw: object, loc: str, level: int, parent: str, reader: _Reader) -> ClauseData:
    data = reader.mapping(raw, loc, _CLAUSE_FIELDS)
    if data is None:
        return ClauseData(address="", number="", heading="", text="", level=level)
    number = reader.string(data, "number", loc)
    address = reader.string(data, "address", loc)
    children = tuple(
        _build_clause(child, f"{loc}.clauses[{i}]", level + 1, address, reader)
        for i, child in enumerate(reader.items(data, "clauses", loc, required=False))
    )
    pattern = _NUMBER_RE.get(level, _DEEP_NUMBER_RE)
    if number and not pattern.fullmatch(number):
        reader.add(f"{loc}.number", f"{number!r} is not a level-{level} number")
    if number and address != parent + number:
        reader.add(f"{loc}.address", f"{address!r} should be {parent + number!r}")
    return ClauseData(address=address, number=number, heading=reader.string(data, "heading", loc, required=False),
                      text=reader.string(data, "text", loc, required=False), level=level, children=children)


def validate_basic_policy(policy: BasicPolicy) -> list[str]:
    """Consistency problems of a basic policy: title, unique well-formed addresses, glossary clauses."""
    problems: list[str] = []
    if not policy.title.strip():
        problems.append("title: must not be empty")
    seen: set[str] = set()
    for clause in iter_clauses(policy):
        if not ADDRESS_RE.fullmatch(clause.address):
            problems.append(f"{clause.address or '?'}: malformed address")
        if clause.address in seen:
            problems.append(f"{clause.address}: duplicate address")
        seen.add(clause.address)
        if not clause.text and not clause.children:
            problems.append(f"{clause.address}: neither text nor clauses")
    for i, term in enumerate(policy.glossary):
        if not term.term.strip():
            problems.append(f"glossary[{i}].term: must not be empty")
        if term.clause not in seen:
            problems.append(f"glossary[{i}].clause: unknown clause {term.clause!r}")
    return problems


def iter_clauses(policy: BasicPolicy) -> Iterator[ClauseData]:
    """Every section, clause and item, depth first in document order."""

    def walk(nodes: tuple[ClauseData, ...]) -> Iterator[ClauseData]:
        for node in nodes:
            yield node
            yield from walk(node.children)

    return walk(policy.sections)


def clause_addresses(policy: BasicPolicy) -> set[str]:
    return {clause.address for clause in iter_clauses(policy)}


def find_clause(policy: BasicPolicy, address: str) -> ClauseData | None:
    return next((clause for clause in iter_clauses(policy) if clause.address == address), None)


# ------------------------------------------------------------------------------------------------------ catalogue

_REQUIREMENT_FIELDS = ("id", "text", "roles", "tiers", "evidence", "implements", "audience")


def load_catalogue(
    source: str | bytes | Path | None = None,
    *,
    known_clauses: set[str] | None = None,
    role_codes: set[str] | frozenset[str] | None = None,
) -> Catalogue:
    """Read a requirement catalogue.

    ``source``: ``None`` = the shipped ``standards.yaml``; a :class:`~pathlib.Path` = that file; ``str``/``bytes``
    = YAML text (e.g. a city's own catalogue). ``known_clauses`` (basic-policy addresses) and ``role_codes``, when
    given, are checked too. Raises :class:`CatalogueError` listing every problem.
    """
    if source is None:
        source = CATALOGUE_PATH
    text = source.read_bytes() if isinstance(source, Path) else source
    data = _parse_yaml(text, CatalogueError)
    reader = _Reader()
    catalogue = _build_catalogue(data, reader)
    problems = [f"{loc}: {msg}" for loc, msg in reader.problems]
    # A location with a structural problem (missing field, wrong type) is not reported a second time.
    flagged = {loc for loc, _ in reader.problems}
    for loc, msg in _validate_catalogue(catalogue, known_clauses, role_codes):
        if not _covered(loc, flagged):
            problems.append(f"{loc}: {msg}")
    if problems:
        raise CatalogueError(problems)
    return catalogue


def _build_catalogue(data: object, reader: _Reader) -> Catalogue:
    top = reader.mapping(data, "", ("title", "chapters"))
    if top is None:
        return Catalogue(title="", chapters=())
    chapters: list[CatalogueChapter] = []
    for ci, raw_chapter in enumerate(reader.items(top, "chapters", "")):
        cloc = f"chapters[{ci}]"
        chapter = reader.mapping(raw_chapter, cloc, ("number", "heading", "sections"))
        if chapter is None:  # a placeholder keeps the indices of the following chapters
            chapters.append(CatalogueChapter(number="", heading="", sections=()))
            continue
        chapter_number = reader.string(chapter, "number", cloc)
        sections: list[CatalogueSection] = []
        for si, raw_section in enumerate(reader.items(chapter, "sections", cloc)):
            sloc = f"{cloc}.sections[{si}]"
            section = reader.mapping(raw_section, sloc, ("number", "heading", "requirements"))
            if section is None:
                sections.append(CatalogueSection(number="", heading="", requirements=()))
                continue
            section_number = reader.string(section, "number", sloc)
            requirements = tuple(
                _build_requirement(raw, f"{sloc}.requirements[{ri}]", chapter_number, section_number, reader)
                for ri, raw in enumerate(reader.items(section, "requirements", sloc))
            )
            sections.append(CatalogueSection(number=section_number, heading=reader.string(section, "heading", sloc),
                                             requirements=requirements))
        chapters.append(CatalogueChapter(number=chapter_number, heading=reader.string(chapter, "heading", cloc),
                                         sections=tuple(sections)))
    return Catalogue(title=reader.string(top, "title", ""), chapters=tuple(chapters))


def _build_requirement(raw: object, loc: str, chapter: str, section: str, reader: _Reader) -> Requirement:
    data = reader.mapping(raw, loc, _REQUIREMENT_FIELDS)
    if data is None:
        return Requirement(id="", chapter=chapter, section=section, text="", roles=(), tiers=(), evidence="",
                           implements="", audience=())
    return Requirement(
        id=reader.string(data, "id", loc), chapter=chapter, section=section, text=reader.string(data, "text", loc),
        roles=reader.strings(data, "roles", loc), tiers=reader.strings(data, "tiers", loc),
        evidence=reader.string(data, "evidence", loc), implements=reader.string(data, "implements", loc),
        audience=reader.strings(data, "audience", loc),
    )


def validate_catalogue(
    cat: Catalogue,
    known_clauses: set[str] | None = None,
    role_codes: set[str] | frozenset[str] | None = None,
) -> list[str]:
    """Every consistency problem of ``cat`` as ``"<location>: <message>"`` (empty list = valid)."""
    return [f"{loc}: {msg}" for loc, msg in _validate_catalogue(cat, known_clauses, role_codes)]


def _validate_catalogue(
    cat: Catalogue,
    known_clauses: set[str] | None,
    role_codes: set[str] | frozenset[str] | None,
) -> _Problems:
    problems: _Problems = []
    if not cat.title.strip():
        problems.append(("title", "must not be empty"))
    if not cat.chapters:
        problems.append(("chapters", "no chapters"))
    chapter_numbers: set[str] = set()
    section_numbers: set[str] = set()
    ids: set[str] = set()
    for ci, chapter in enumerate(cat.chapters):
        cloc = f"chapters[{ci}]"
        if not chapter.number:
            problems.append((f"{cloc}.number", "must not be empty"))
        elif not re.fullmatch(r"[1-9]\d*", chapter.number):
            problems.append((f"{cloc}.number", f"{chapter.number!r} is not a chapter number (1, 2, …)"))
        elif chapter.number in chapter_numbers:
            problems.append((f"{cloc}.number", f"duplicate chapter number {chapter.number}"))
        chapter_numbers.add(chapter.number)
        if not chapter.heading.strip():
            problems.append((f"{cloc}.heading", "must not be empty"))
        for si, section in enumerate(chapter.sections):
            sloc = f"{cloc}.sections[{si}]"
            if not section.number:
                problems.append((f"{sloc}.number", "must not be empty"))
            elif chapter.number and not re.fullmatch(rf"{re.escape(chapter.number)}\.[1-9]\d*", section.number):
                problems.append((f"{sloc}.number",
                                 f"{section.number!r} does not belong to chapter {chapter.number} "
                                 f"(expected {chapter.number}.N)"))
            elif section.number in section_numbers:
                problems.append((f"{sloc}.number", f"duplicate section number {section.number}"))
            section_numbers.add(section.number)
            if not section.heading.strip():
                problems.append((f"{sloc}.heading", "must not be empty"))
            for ri, req in enumerate(section.requirements):
                problems.extend(_check_requirement(req, f"{sloc}.requirements[{ri}]", chapter, section, ids,
                                                   known_clauses, role_codes))
    return problems


def _check_requirement(
    req: Requirement,
    loc: str,
    chapter: CatalogueChapter,
    section: CatalogueSection,
    ids: set[str],
    known_clauses: set[str] | None,
    role_codes: set[str] | frozenset[str] | None,
) -> _Problems:
    problems: _Problems = []
    if not req.id:
        problems.append((f"{loc}.id", "must not be empty"))
    elif req.id in ids:
        problems.append((f"{loc}.id", f"duplicate id {req.id}"))
    elif section.number and not re.fullmatch(rf"{re.escape(section.number)}-\d\d", req.id):
        problems.append((f"{loc}.id", f"id {req.id} does not match its section {section.number} "
                                      f"(expected {section.number}-NN)"))
    ids.add(req.id)
    if req.chapter != chapter.number:
        problems.append((f"{loc}.chapter", f"{req.chapter!r} is not the enclosing chapter {chapter.number!r}"))
    if req.section != section.number:
        problems.append((f"{loc}.section", f"{req.section!r} is not the enclosing section {section.number!r}"))
    for key, value in (("text", req.text), ("evidence", req.evidence)):
        if not value.strip():
            problems.append((f"{loc}.{key}", "must not be empty"))
    problems.extend(_check_codes(req.roles, f"{loc}.roles", role_codes, "role", required=True))
    problems.extend(_check_codes(req.tiers, f"{loc}.tiers", TIER_CODES, "tier", required=False))
    problems.extend(_check_codes(req.audience, f"{loc}.audience", AUDIENCE_CODES, "audience", required=True))
    if not req.implements:
        problems.append((f"{loc}.implements", "must not be empty"))
    elif not ADDRESS_RE.fullmatch(req.implements):
        problems.append((f"{loc}.implements", f"malformed clause address {req.implements!r} (e.g. 6(3)②)"))
    elif known_clauses is not None and req.implements not in known_clauses:
        problems.append((f"{loc}.implements", f"unknown basic-policy clause {req.implements}"))
    return problems


def _check_codes(
    values: tuple[str, ...], loc: str, known: set[str] | frozenset[str] | None, what: str, *, required: bool
) -> _Problems:
    problems: _Problems = []
    if required and not values:
        problems.append((loc, f"at least one {what} is required"))
    seen: set[str] = set()
    for i, value in enumerate(values):
        if known is not None and value not in known:
            problems.append((f"{loc}[{i}]", f"unknown {what} {value!r}"))
        elif value in seen:
            problems.append((f"{loc}[{i}]", f"duplicate {what} {value!r}"))
        seen.add(value)
    return problems


def iter_requirements(cat: Catalogue) -> Iterator[Requirement]:
    for chapter in cat.chapters:
        for section in chapter.sections:
            yield from section.requirements


def catalogue_to_yaml(cat: Catalogue) -> str:
    """The catalogue as YAML that :func:`load_catalogue` reads back into an equal :class:`Catalogue`."""
    data = {
        "title": cat.title,
        "chapters": [
            {
                "number": chapter.number,
                "heading": chapter.heading,
                "sections": [
                    {
                        "number": section.number,
                        "heading": section.heading,
                        "requirements": [
                            {
                                "id": req.id,
                                "text": req.text,
                                "roles": list(req.roles),
                                "tiers": list(req.tiers),
                                "evidence": req.evidence,
                                "implements": req.implements,
                                "audience": list(req.audience),
                            }
                            for req in section.requirements
                        ],
                    }
                    for section in chapter.sections
                ],
            }
            for chapter in cat.chapters
        ],
    }
    dumped: str = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None, width=10_000)
    return dumped
