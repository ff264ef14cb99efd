"""The default policy content: the basic policy transcribed from the seed, and the project's own catalogue."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mamoru.policy.content.loader import (
    ADDRESS_RE,
    AUDIENCE_CODES,
    BASIC_POLICY_PATH,
    CATALOGUE_PATH,
    ROLE_CODES,
    TIER_CODES,
    BasicPolicy,
    BasicPolicyError,
    Catalogue,
    CatalogueError,
    ClauseData,
    catalogue_to_yaml,
    clause_addresses,
    display_label,
    find_clause,
    iter_clauses,
    iter_requirements,
    load_basic_policy,
    load_catalogue,
    validate_catalogue,
)

REPO = Path(__file__).resolve().parents[2]
SEED = REPO.parent / "shared" / "seeds" / "000_1c6695cf91ce2cfe.txt"

SECTION_HEADINGS = [
    "目的", "定義", "情報セキュリティポリシーの位置付けと職員等の義務", "適用範囲", "情報資産への脅威",
    "情報セキュリティ対策", "情報セキュリティ監査及び自己点検の実施", "情報セキュリティポリシーの見直し",
    "情報セキュリティ対策基準の策定", "情報セキュリティ実施手順の策定",
]
GLOSSARY_TERMS = [
    "ネットワーク", "情報システム", "情報資産", "情報セキュリティ", "情報セキュリティポリシー", "機密性", "完全性",
    "可用性", "マイナンバー利用事務系（個人番号利用事務系）", "LGWAN接続系", "インターネット接続系",
    "通信経路の分割", "無害化通信",
]
# domain.md §5 (chapters 1–3 and 8.4 are this project's numbering).
CATALOGUE_OUTLINE = {
    "1": ("組織体制", None),
    "2": ("情報資産の分類と管理", None),
    "3": ("情報システム全体の強靭性の向上", ["マイナンバー利用事務系", "LGWAN接続系", "インターネット接続系"]),
    "4": ("物理的セキュリティ", ["サーバ等の管理", "管理区域（電算室等）の管理", "通信回線及び通信回線装置の管理",
                                 "職員等の利用する端末や電磁的記録媒体等の管理"]),
    "5": ("人的セキュリティ", ["職員等の遵守事項", "研修・訓練", "情報セキュリティインシデントの報告",
                               "ID及びパスワード等の管理"]),
    "6": ("技術的セキュリティ", ["コンピュータ及びネットワークの管理", "アクセス制御", "システム開発、導入、保守等",
                                 "不正プログラム対策", "不正アクセス対策", "セキュリティ情報の収集"]),
    "7": ("運用", ["情報システムの監視", "ポリシーの遵守状況の確認", "侵害時の対応", "例外措置", "法令遵守",
                   "懲戒処分等"]),
    "8": ("業務委託と外部サービスの利用", ["業務委託", "情報システムに関する業務委託", "外部サービス（クラウド）の利用",
                                          "ソーシャルメディアサービスの利用"]),
    "9": ("評価・見直し", ["監査", "自己点検", "ポリシー及び関係規程等の見直し"]),
}


@pytest.fixture(scope="module")
def policy() -> BasicPolicy:
    return load_basic_policy()


@pytest.fixture(scope="module")
def catalogue(policy: BasicPolicy) -> Catalogue:
    return load_catalogue(known_clauses=clause_addresses(policy), role_codes=ROLE_CODES)


# ------------------------------------------------------------------------------------------------ basic policy


def test_ten_sections_in_order(policy: BasicPolicy) -> None:
    assert policy.title == "情報セキュリティ基本方針"
    assert policy.series == "情報セキュリティポリシー"
    assert [s.number for s in policy.sections] == [str(n) for n in range(1, 11)]
    assert [s.heading for s in policy.sections] == SECTION_HEADINGS
    assert all(s.level == 1 and s.address == s.number for s in policy.sections)


def test_no_city_name_in_the_generic_titles(policy: BasicPolicy) -> None:
    assert "市" not in policy.title + policy.series


def test_glossary_has_the_thirteen_definitions_of_section_2(policy: BasicPolicy) -> None:
    assert [g.term for g in policy.glossary] == GLOSSARY_TERMS
    definitions = policy.sections[1].children
    assert [g.clause for g in policy.glossary] == [c.address for c in definitions] == [f"2({n})" for n in range(1, 14)]
    for term, clause in zip(policy.glossary, definitions, strict=True):
        assert term.term == clause.heading
        assert term.definition == clause.text
    # The ☆ notes belong to the definition.
    assert policy.glossary[5].definition.endswith("（☆情報を許可された者だけが利用できること）")
    assert policy.glossary[6].definition.endswith("（☆情報が正確で完全であること）")


def test_addresses_unique_and_well_formed(policy: BasicPolicy) -> None:
    clauses = list(iter_clauses(policy))
    addresses = [c.address for c in clauses]
    assert len(addresses) == len(set(addresses))
    assert all(ADDRESS_RE.fullmatch(a) for a in addresses), addresses

    def check(node: ClauseData, parent: str) -> None:
        assert node.address == parent + node.number
        pattern = {1: r"[1-9]\d*", 2: r"\([1-9]\d*\)", 3: r"[①-⑳]"}[node.level]
        assert re.fullmatch(pattern, node.number), node
        assert node.text or node.children, node.address
        for child in node.children:
            assert child.level == node.level + 1
            check(child, node.address)

    for section in policy.sections:
        check(section, "")


def test_numbering_levels_found_in_the_seed(policy: BasicPolicy) -> None:
    clauses = list(iter_clauses(policy))
    assert [c.address for c in clauses[:4]] == ["1", "2", "2(1)", "2(2)"]  # depth first, document order
    assert sum(c.level == 2 for c in clauses) == 13 + 2 + 4 + 9
    items = {c.address for c in clauses if c.level == 3}
    assert items == {"4(2)①", "4(2)②", "4(2)③", "5(1)①", "5(1)②", "5(2)①", "5(2)②", "5(2)③", "5(2)④",
                     "6(3)①", "6(3)②", "6(3)③"}
    assert max(c.level for c in clauses) == 3
    item = find_clause(policy, "6(3)②")
    assert item is not None
    assert item.text.startswith("LGWAN接続系においては")
    assert find_clause(policy, "6(10)") is None


def test_labels_follow_the_source_typography(policy: BasicPolicy) -> None:
    assert [s.label for s in policy.sections][-2:] == ["９", "１０"]
    definitions = policy.sections[1].children
    assert definitions[0].label == "（１）"
    assert definitions[9].label == "（10）"
    assert display_label("②", 3) == "②"


def test_paragraphs(policy: BasicPolicy) -> None:
    assert len(policy.sections[2].paragraphs) == 2  # §3: position of the policy, then duties (「したがって、…」)
    assert len(policy.sections[9].paragraphs) == 2  # §10: the procedures, then 「なお、…非公開とする。」
    outsourcing = find_clause(policy, "6(8)")
    assert outsourcing is not None
    assert outsourcing.paragraphs[1].startswith("ソーシャルメディアサービスを利用する場合には")
    assert policy.sections[1].paragraphs == ()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _sentences(text: str) -> list[str]:
    return [s for s in text.split("。") if s]


def _policy_body(policy: BasicPolicy) -> str:
    """The whole body as printed: label, heading and text of every clause in document order."""
    return "".join(c.label + c.heading + c.text for c in iter_clauses(policy))


def test_fidelity_to_the_seed(policy: BasicPolicy) -> None:
    if not SEED.is_file():
        pytest.skip(f"../shared not available: {SEED} is missing, cannot compare the basic policy with its source")
    lines = [line for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]
    series_line, title_line, body_lines = lines[0].strip(), lines[1].strip(), lines[2:]
    assert series_line.endswith(policy.series)
    assert title_line == policy.title
    seed = _squash("".join(body_lines))
    ours = _squash(_policy_body(policy))

    missing = [s for s in _sentences(seed) if s not in ours]
    assert not missing, f"seed sentences missing from basic_policy.yaml: {missing}"
    seed_sentences = set(_sentences(seed))
    invented = [s for s in _sentences(ours) if s not in seed_sentences]
    assert not invented, f"sentences in basic_policy.yaml that are not in the seed: {invented}"
    assert ours == seed  # same sentences, same order, nothing in between

    for clause in iter_clauses(policy):  # every heading and paragraph verbatim (full-width characters kept)
        for part in (clause.heading, *clause.paragraphs):
            assert _squash(part) in seed, (clause.address, part)


def test_basic_policy_loader_rejects_inconsistent_files(tmp_path: Path) -> None:
    data = yaml.safe_load(BASIC_POLICY_PATH.read_text(encoding="utf-8"))
    data["sections"][5]["clauses"][2]["clauses"][1]["address"] = "6(2)②"
    data["glossary"][0]["clause"] = "2(99)"
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BasicPolicyError) as excinfo:
        load_basic_policy(path)
    assert excinfo.value.problems == [
        "sections[5].clauses[2].clauses[1].address: '6(2)②' should be '6(3)②'",
    ]
    data["sections"][5]["clauses"][2]["clauses"][1]["address"] = "6(3)②"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(BasicPolicyError) as excinfo:
        load_basic_policy(path)
    assert excinfo.value.problems == ["glossary[0].clause: unknown clause '2(99)'"]


# --------------------------------------------------------------------------------------------------- catalogue


def test_catalogue_chapters_and_sections(catalogue: Catalogue) -> None:
    assert catalogue.title == "情報セキュリティ対策基準"
    assert [c.number for c in catalogue.chapters] == [str(n) for n in range(1, 10)]
    for chapter in catalogue.chapters:
        heading, sections = CATALOGUE_OUTLINE[chapter.number]
        assert chapter.heading == heading
        assert [s.number for s in chapter.sections] == [f"{chapter.number}.{i}" for i in
                                                         range(1, len(chapter.sections) + 1)]
        if sections is not None:
            assert [s.heading for s in chapter.sections] == sections
        assert len(chapter.sections) >= 2
        for section in chapter.sections:
            assert len(section.requirements) >= 2, section.number


def test_catalogue_requirements(catalogue: Catalogue, policy: BasicPolicy) -> None:
    requirements = list(iter_requirements(catalogue))
    assert 90 <= len(requirements) <= 130
    ids = [r.id for r in requirements]
    assert len(ids) == len(set(ids))
    addresses = clause_addresses(policy)
    for req in requirements:
        assert re.fullmatch(rf"{re.escape(req.section)}-\d\d", req.id)
        assert req.section.startswith(req.chapter + ".")
        assert req.implements in addresses, req.id
        assert req.roles and set(req.roles) <= ROLE_CODES
        assert set(req.tiers) <= TIER_CODES
        assert req.audience and set(req.audience) <= AUDIENCE_CODES
        assert req.text.endswith("。") and req.evidence
        assert 1 <= req.text.count("。") <= 3, req.id
    assert validate_catalogue(catalogue, addresses, set(ROLE_CODES)) == []


def test_catalogue_covers_the_policy(catalogue: Catalogue) -> None:
    requirements = list(iter_requirements(catalogue))
    implemented = {r.implements for r in requirements}
    for address in ["6(1)", "6(2)", "6(3)①", "6(3)②", "6(3)③", "6(4)", "6(5)", "6(6)", "6(7)", "6(8)", "7", "8"]:
        assert address in implemented
    chapter3 = [r for r in requirements if r.chapter == "3"]
    assert all(r.tiers for r in chapter3)  # tier-specific by nature
    assert {t for r in chapter3 for t in r.tiers} == {"mynumber", "lgwan", "internet"}
    text = "".join(r.text for r in requirements)
    for phrase in ["無害化", "多要素認証", "年1回以上、情報セキュリティ研修", "例外措置", "CISOに報告して承認",
                   "個人情報保護委員会", "マイナンバー法", "再委託", "定期的に確認", "アカウントごとに責任者",
                   "独立した者", "サイバーセキュリティを確保するための方針を定めて公表"]:
        assert phrase in text, phrase
    audiences = {a for r in requirements for a in r.audience}
    assert audiences == set(AUDIENCE_CODES)


def test_role_codes_match_the_roles_table() -> None:
    from mamoru.core.roles import ROLES

    assert {r.code for r in ROLES} | {"staff"} == ROLE_CODES


def test_catalogue_round_trip(catalogue: Catalogue) -> None:
    text = catalogue_to_yaml(catalogue)
    again = load_catalogue(text)
    assert again == catalogue
    assert catalogue_to_yaml(again) == text
    assert load_catalogue(text.encode("utf-8")) == catalogue
    assert load_catalogue(CATALOGUE_PATH) == load_catalogue() == catalogue


# ---------------------------------------------------------------------------------------------- error messages


def _requirement(rid: str, **overrides: Any) -> dict[str, Any]:
    req: dict[str, Any] = {"id": rid, "text": "サーバは施錠できるラックに設置する。", "roles": ["system_admin"],
                           "tiers": [], "evidence": "設置場所の写真", "implements": "6(4)",
                           "audience": ["system_admin"]}
    req.update(overrides)
    return req


def _small() -> dict[str, Any]:
    return {"title": "情報セキュリティ対策基準", "chapters": [
        {"number": "4", "heading": "物理的セキュリティ", "sections": [
            {"number": "4.1", "heading": "サーバ等の管理",
             "requirements": [_requirement("4.1-01"), _requirement("4.1-02")]},
        ]},
    ]}


REQ = "chapters[0].sections[0].requirements"


def _problems(data: Any, **kwargs: Any) -> list[str]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    with pytest.raises(CatalogueError) as excinfo:
        load_catalogue(text, **kwargs)
    error: CatalogueError = excinfo.value
    assert issubclass(CatalogueError, ValueError)
    assert str(error) == "\n".join(error.problems)
    problems: list[str] = error.problems
    return problems


def test_small_catalogue_loads() -> None:
    cat = load_catalogue(yaml.safe_dump(_small(), allow_unicode=True), known_clauses={"6(4)"},
                         role_codes=ROLE_CODES)
    assert [r.id for r in iter_requirements(cat)] == ["4.1-01", "4.1-02"]
    assert cat.chapters[0].sections[0].requirements[0].chapter == "4"


def test_malformed_yaml() -> None:
    problems = _problems("title: [unclosed\nchapters: ")
    assert len(problems) == 1
    assert problems[0].startswith("yaml: malformed YAML: ")


def test_top_level_must_be_a_mapping() -> None:
    assert _problems("- 1\n- 2\n") == ["(top level): expected a mapping, got a list"]


def test_missing_field() -> None:
    data = _small()
    del data["chapters"][0]["sections"][0]["requirements"][1]["evidence"]
    assert _problems(data) == [f"{REQ}[1].evidence: missing field"]


def test_unknown_field() -> None:
    data = _small()
    req = data["chapters"][0]["sections"][0]["requirements"][0]
    req["implement"] = req.pop("implements")
    assert _problems(data) == [f"{REQ}[0].implement: unknown field", f"{REQ}[0].implements: missing field"]


def test_duplicate_id() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["requirements"][1]["id"] = "4.1-01"
    assert _problems(data) == [f"{REQ}[1].id: duplicate id 4.1-01"]


def test_id_must_match_its_section() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["requirements"][1]["id"] = "4.2-01"
    assert _problems(data) == [f"{REQ}[1].id: id 4.2-01 does not match its section 4.1 (expected 4.1-NN)"]


def test_section_must_belong_to_its_chapter() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["number"] = "5.1"
    problems = _problems(data)
    assert problems[0] == "chapters[0].sections[0].number: '5.1' does not belong to chapter 4 (expected 4.N)"


def test_unknown_tier_and_audience() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["requirements"][0]["tiers"] = ["lgwan", "cloud"]
    data["chapters"][0]["sections"][0]["requirements"][1]["audience"] = ["everyone"]
    assert _problems(data) == [f"{REQ}[0].tiers[1]: unknown tier 'cloud'",
                               f"{REQ}[1].audience[0]: unknown audience 'everyone'"]


def test_unknown_role_only_when_role_codes_given() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["requirements"][0]["roles"] = ["mayor"]
    load_catalogue(yaml.safe_dump(data, allow_unicode=True))  # no role table: any code
    assert _problems(data, role_codes=ROLE_CODES) == [f"{REQ}[0].roles[0]: unknown role 'mayor'"]


def test_implements_must_resolve_when_clauses_given() -> None:
    data = _small()
    data["chapters"][0]["sections"][0]["requirements"][1]["implements"] = "6(12)"
    load_catalogue(yaml.safe_dump(data, allow_unicode=True))  # well-formed, not checked against a policy
    assert _problems(data, known_clauses={"6(4)"}) == [f"{REQ}[1].implements: unknown basic-policy clause 6(12)"]
    data["chapters"][0]["sections"][0]["requirements"][1]["implements"] = "section six"
    assert _problems(data) == [f"{REQ}[1].implements: malformed clause address 'section six' (e.g. 6(3)②)"]


def test_wrong_types() -> None:
    text = yaml.safe_dump(_small(), allow_unicode=True, sort_keys=False).replace("number: '4.1'", "number: 4.10")
    data = copy.deepcopy(_small())
    data["chapters"][0]["sections"][0]["requirements"][0]["roles"] = "system_admin"
    assert _problems(text) == ["chapters[0].sections[0].number: expected a string, got a number (quote it)"]
    assert _problems(data) == [f"{REQ}[0].roles: expected a list, got a string"]


def test_every_problem_is_listed() -> None:
    data = _small()
    reqs = data["chapters"][0]["sections"][0]["requirements"]
    reqs[0]["text"] = ""
    reqs[0]["roles"] = []
    reqs[1]["id"] = "4.1-01"
    reqs[1]["tiers"] = ["dmz"]
    reqs.append("not a requirement")
    assert _problems(data, known_clauses={"6(4)"}) == [
        f"{REQ}[2]: expected a mapping, got a string",
        f"{REQ}[0].text: must not be empty",
        f"{REQ}[0].roles: at least one role is required",
        f"{REQ}[1].id: duplicate id 4.1-01",
        f"{REQ}[1].tiers[0]: unknown tier 'dmz'",
    ]


def test_validate_catalogue_on_built_objects(catalogue: Catalogue) -> None:
    from dataclasses import replace

    chapter = catalogue.chapters[3]
    section = chapter.sections[0]
    wrong = replace(section.requirements[0], chapter="5")
    broken = replace(catalogue, chapters=(replace(chapter, sections=(
        replace(section, requirements=(wrong, *section.requirements[1:])), *chapter.sections[1:])),
        *catalogue.chapters[4:]))
    assert validate_catalogue(broken) == [
        "chapters[0].sections[0].requirements[0].chapter: '5' is not the enclosing chapter '4'",
    ]


def test_duplicate_chapter_and_section_numbers() -> None:
    data = _small()
    chapter = copy.deepcopy(data["chapters"][0])
    for i, req in enumerate(chapter["sections"][0]["requirements"], start=3):
        req["id"] = f"4.1-0{i}"
    data["chapters"].append(chapter)
    assert _problems(data) == ["chapters[1].number: duplicate chapter number 4",
                               "chapters[1].sections[0].number: duplicate section number 4.1"]
