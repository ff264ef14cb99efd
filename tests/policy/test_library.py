"""Policy library: default content, who reads what, the version workflow, diff, acknowledgement, export,
search and the POLICY-… checks."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from mamoru.compliance.models import Finding
from mamoru.compliance.services import checks_run
from mamoru.core.context import acting_as
from mamoru.core.models import AuditEntry
from mamoru.policy import services
from mamoru.policy.defaults import default_documents_load
from mamoru.policy.models import Acknowledgement, Clause, PolicyDocument, PolicyVersion

pytestmark = pytest.mark.django_db


def world_setup(world: Any) -> None:
    """Every test starts from both cities' default policy and a procedure of 課A (made once: tests/conftest.py)."""
    with acting_as(label="test"):
        default_documents_load(world.units["city"])
        default_documents_load(world.units["other_city"])
        city = world.units["city"]
        world.procedure = services.document_create(
            municipality=city, kind="procedure", slug="records-procedure", title="住民記録システム運用手順",
            readers=[world.people["staff_a"]], sections=[world.units["sec_a"]])
        version = services.version_create(document=world.procedure, clauses=[
            services.ClauseInput(address="1", number="1", heading="目的", text="運用手順の目的を定める。")])
        services.version_publish_default(version=version, effective_on=dt.date(2026, 4, 1))


@pytest.fixture
def library(world: Any) -> Any:
    return world


def doc(world: Any, slug: str) -> PolicyDocument:
    return PolicyDocument.objects.get(municipality=world.units["city"], slug=slug)


def test_default_content_is_the_seed_policy_and_the_catalogue(library):
    basic = doc(library, "basic-policy").versions.get()
    assert basic.number == 1 and basic.status == "published"
    sections = basic.clause_set.filter(level=0)
    assert sections.count() == 10 and sections.first().heading == "目的"
    assert basic.clause_set.filter(address="6(3)②").exists()
    terms = list(basic.glossaryterm_set.order_by("order").values_list("term", flat=True))
    assert len(terms) == 13 and terms[0] == "ネットワーク" and terms[-1] == "無害化通信"
    standards = doc(library, "standards").versions.get()
    chapters = list(standards.clause_set.filter(level=0).values_list("address", flat=True))
    assert chapters == [str(n) for n in range(1, 10)]
    requirement = standards.clause_set.filter(kind="requirement").first()
    assert requirement.address.count("-") == 1 and requirement.implements and requirement.roles


def test_staff_read_the_basic_policy_clause_by_clause_with_glossary_links(library, login_as):
    response = login_as("staff_b").get(reverse("policy:document_detail", args=["basic-policy"]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "情報セキュリティ基本方針" in html and "目的" in html
    assert 'class="term" href="#term-' in html  # defined terms link to the glossary
    assert 'id="term-13"' in html


@pytest.mark.parametrize(("persona", "status"), [
    ("staff_a", 200), ("ciso", 200), ("chief", 200), ("auditor", 200),
    ("staff_b", 404), ("manager_a", 404), ("dept_head_a", 404), ("contractor", 404), ("other_ciso", 404),
])
def test_a_procedure_is_read_only_by_the_people_named_and_the_ciso_chief_auditors(library, login_as, persona,
                                                                                     status):
    client = login_as(persona)
    assert client.get(reverse("policy:document_detail", args=["records-procedure"])).status_code == status
    assert client.get(reverse("policy:version_detail", args=["records-procedure", 1])).status_code == status
    listed = "住民記録システム運用手順" in client.get(reverse("policy:document_list")).content.decode()
    assert listed == (status == 200)


def test_drafts_are_hidden_from_staff(library, login_as):
    with acting_as(label="test"):
        services.version_draft(document=doc(library, "standards"), actor=library.user("chief"))
    assert login_as("staff_a").get(reverse("policy:version_detail", args=["standards", 2])).status_code == 404
    assert login_as("auditor").get(reverse("policy:version_detail", args=["standards", 2])).status_code == 200


def test_standards_version_2_is_drafted_approved_published_and_compared(library, login_as):
    chief = login_as("chief")
    assert chief.post(reverse("policy:version_draft", args=["standards"]),
                      {"change_summary": "パスワード要件の改定"}).status_code == 302
    v2 = doc(library, "standards").versions.get(number=2)
    clause = v2.clause_set.filter(kind="requirement").order_by("order").first()
    old_text = clause.text
    url = reverse("policy:clause_edit", args=["standards", 2, clause.pk])
    response = chief.post(url, {"heading": "", "text": old_text + "多要素認証を必須とする。", "evidence": "設定画面",
                                "implements": clause.implements})
    assert response.status_code == 302
    chief.post(reverse("policy:version_submit", args=["standards", 2]))
    # The chief may not approve as the CISO, but may record the committee's decision with its minutes.
    chief.post(reverse("policy:version_approve", args=["standards", 2]), {"kind": "ciso"})
    assert PolicyVersion.objects.get(pk=v2.pk).status == "review"
    chief.post(reverse("policy:version_approve", args=["standards", 2]), {"kind": "committee"})
    assert PolicyVersion.objects.get(pk=v2.pk).status == "review"  # no date, no minutes: refused
    minutes = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4 minutes", content_type="application/pdf")
    chief.post(reverse("policy:version_approve", args=["standards", 2]),
               {"kind": "committee", "decided_on": "2026-11-20", "minutes": minutes})
    v2.refresh_from_db()
    assert v2.status == "approved" and v2.approval_kind == "committee" and v2.committee_minutes
    chief.post(reverse("policy:version_publish", args=["standards", 2]),
               {"effective_on": "2026-12-01", "acknowledge_by": "2026-12-31"})
    v2.refresh_from_db()
    assert v2.status == "published" and v2.effective_on == dt.date(2026, 12, 1)
    assert Acknowledgement.objects.filter(version=v2).count() >= 8  # every in-scope person of the city
    operations = sorted(e.changes["operation"] for e in AuditEntry.objects.filter(
        object_type="policy.policyversion", object_id=str(v2.pk), event="approval"))
    assert operations == ["policy version approved", "policy version drafted", "policy version published"]

    diff = chief.get(reverse("policy:version_diff", args=["standards"]) + "?from=1&to=2").content.decode()
    assert "<ins>多要素認証を必須とする。</ins>" in diff and clause.address in diff
    # Published versions are read-only.
    response = chief.post(url, {"heading": "", "text": "書き換え", "evidence": "", "implements": ""}, follow=True)
    assert Clause.objects.get(pk=clause.pk).text.endswith("多要素認証を必須とする。")
    assert response.status_code == 200


def test_ciso_approves_and_a_character_level_diff_marks_japanese_changes(library, login_as):
    with acting_as(label="test"):
        v2 = services.version_draft(document=doc(library, "basic-policy"), actor=library.user("ciso"))
        clause = v2.clause_set.get(address="1")
        services.clause_update(clause=clause, text=clause.text.replace("的確に維持する", "確実に維持する"))
        services.version_submit(version=v2, actor=library.user("ciso"))
    login_as("ciso").post(reverse("policy:version_approve", args=["basic-policy", 2]), {"kind": "ciso"})
    v2.refresh_from_db()
    assert v2.status == "approved" and v2.approved_by == library.people["ciso"]
    html = login_as("ciso").get(reverse("policy:version_diff", args=["basic-policy"])).content.decode()
    assert "<del>的</del>確に" in html and "確<ins>実</ins>に" in html  # 的確 → 確実, character by character


def test_staff_acknowledge_and_late_sections_become_findings(library, login_as):
    with acting_as(label="test"):
        document = doc(library, "basic-policy")
        v2 = services.version_draft(document=document, actor=library.user("ciso"))
        services.version_submit(version=v2, actor=library.user("ciso"))
        services.version_approve(version=v2, actor=library.user("ciso"), kind="ciso")
        services.version_publish(version=v2, actor=library.user("ciso"), effective_on=dt.date(2026, 4, 1),
                                 acknowledge_by=dt.date(2026, 4, 30))
    page = login_as("staff_a").get(reverse("policy:version_detail", args=["basic-policy", 2])).content.decode()
    assert reverse("policy:acknowledge", args=["basic-policy", 2]) in page
    login_as("staff_a").post(reverse("policy:acknowledge", args=["basic-policy", 2]))
    assert Acknowledgement.objects.get(version=v2, person=library.people["staff_a"]).acknowledged_at is not None
    checks_run(codes=["POLICY-001"])
    late_units = set(Finding.objects.filter(code="POLICY-001", status="open").values_list("org_unit__name",
                                                                                           flat=True))
    assert "課B" in late_units
    progress = login_as("manager_a").get(reverse("policy:version_detail", args=["basic-policy", 2]))
    assert [p.unit for p in progress.context["progress"]] == ["課A"]  # a manager sees their own section


def test_reviews_overdue_become_findings(library):
    PolicyVersion.objects.filter(document__municipality=library.units["city"]).update(
        published_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    checks_run(codes=["POLICY-004"])
    flagged = set(Finding.objects.filter(code="POLICY-004", status="open").values_list("object_repr", flat=True))
    assert {"情報セキュリティ基本方針", "情報セキュリティ対策基準"} <= flagged
    with acting_as(label="test"):
        services.review_record(document=doc(library, "basic-policy"), actor=library.user("ciso"),
                               reviewed_on=dt.date.today(), triggers=["yearly"], outcome="no_change",
                               summary="変更不要")
    checks_run(codes=["POLICY-004"])
    still = set(Finding.objects.filter(code="POLICY-004", status="open").values_list("object_repr", flat=True))
    assert "情報セキュリティ基本方針" not in still and "情報セキュリティ対策基準" in still


def test_export_command_writes_json_yaml_and_a_pdf_with_japanese_text(library, tmp_path):
    out = io.StringIO()
    path = tmp_path / "basic.json"
    call_command("policy", "export", "--document", "basic-policy", "--format", "json", "--output", str(path),
                 "--municipality", library.units["city"].code, stdout=out)
    data = json.loads(path.read_text())
    assert data["title"] == "情報セキュリティ基本方針" and data["version"] == 1
    assert len(data["glossary"]) == 13 and data["clauses"][0] == {
        "address": "1", "number": "１", "heading": "目的", "level": 0, "text": data["clauses"][0]["text"]}
    ypath = tmp_path / "standards.yaml"
    call_command("policy", "export", "--document", "standards", "--format", "yaml", "--output", str(ypath),
                 "--municipality", library.units["city"].code)
    assert yaml.safe_load(ypath.read_text())["title"] == "情報セキュリティ対策基準"
    ppath = tmp_path / "basic.pdf"
    call_command("policy", "export", "--document", "basic-policy", "--format", "pdf", "--output", str(ppath),
                 "--municipality", library.units["city"].code)
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(ppath))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf))).replace("\r\n", "")
    assert "情報セキュリティ基本方針" in text and "無害化通信" in text
    assert b"/FontFile2" in ppath.read_bytes() or b"/FontFile3" in ppath.read_bytes()


def test_search_finds_clauses_regardless_of_width_and_kana(library, login_as):
    client = login_as("staff_b")
    for query in ("ﾈｯﾄﾜｰｸ", "ねっとわーく", "LGWAN", "ｌｇｗａｎ"):
        results = client.get(reverse("policy:search"), {"q": query}).context["results"]
        assert results and all(r.version.document.slug in ("basic-policy", "standards") for r in results), query
    # a procedure's clauses are found only by its readers
    assert not client.get(reverse("policy:search"), {"q": "運用手順の目的"}).context["results"]
    assert login_as("staff_a").get(reverse("policy:search"), {"q": "運用手順の目的"}).context["results"]


def test_each_workflow_step_shows_its_form_to_the_editors_only(library, login_as):
    url = reverse("policy:version_detail", args=["standards", 2])
    with acting_as(label="test"):
        v2 = services.version_draft(document=doc(library, "standards"), actor=library.user("ciso"))
    ciso = login_as("ciso")
    assert reverse("policy:version_submit", args=["standards", 2]) in ciso.get(url).content.decode()
    assert reverse("policy:clause_edit", args=["standards", 2, v2.clause_set.first().pk]) in \
        ciso.get(url).content.decode()
    services.version_submit(version=v2, actor=library.user("ciso"))
    html = ciso.get(url).content.decode()
    assert 'name="kind"' in html and 'name="minutes"' in html and 'enctype="multipart/form-data"' in html
    assert 'name="kind"' not in login_as("auditor").get(url).content.decode()  # reads, does not approve
    services.version_approve(version=v2, actor=library.user("ciso"), kind="ciso")
    html = ciso.get(url).content.decode()
    assert 'name="effective_on"' in html and 'name="acknowledge_by"' in html
