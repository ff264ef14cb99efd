"""The owner answers their checklist on one page: drafts, submission with reasons, evidence, re-opening."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from mamoru.core.models import AuditEntry
from mamoru.inspection.models import Answer, Evidence
from tests.inspection.factories import PDF, answer_everything, assignment_of, campaign_for, city_checklists

pytestmark = pytest.mark.django_db

world_setup = city_checklists  # once per module (tests/conftest.py)


@pytest.fixture
def mine(world):
    campaign = campaign_for(world)
    return assignment_of(campaign, world, "staff_a")


def _questions(assignment):
    return list(assignment.campaign.questions.filter(audience=assignment.audience).order_by("order", "pk"))


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_a_draft_keeps_what_was_entered(world, mine, login_as):
    q1, q2, *_ = _questions(mine)
    client = login_as("staff_a")
    page = client.get(mine.get_absolute_url())
    assert page.status_code == 200 and q1.text in page.content.decode()
    response = client.post(mine.get_absolute_url(), {"action": "draft", f"v{q1.pk}": "yes",
                                                     f"v{q2.pk}": "partly", f"c{q2.pk}": "鍵の管理簿が未整備"},
                           follow=True)
    assert "Draft saved." in _messages(response)
    mine.refresh_from_db()
    assert (mine.status, mine.answered) == ("draft", 2)
    assert Answer.objects.get(assignment=mine, question=q2).comment == "鍵の管理簿が未整備"
    entry = AuditEntry.objects.filter(event="inspection_answers").latest("seq")
    assert entry.changes["changed"] == {q1.requirement: ["", "yes"], q2.requirement: ["", "partly"]}
    assert entry.actor == "staff_a"


def test_submitting_names_every_unanswered_and_uncommented_question_and_keeps_the_draft(world, mine, login_as):
    questions = _questions(mine)
    data = {"action": "submit", **{f"v{q.pk}": "yes" for q in questions[2:]}, f"v{questions[2].pk}": "no"}
    response = login_as("staff_a").post(mine.get_absolute_url(), data, follow=True)
    text = " ".join(_messages(response))
    assert f"not answered: {questions[0].requirement}, {questions[1].requirement}." in text
    assert f"“partly” or “no”: {questions[2].requirement}." in text
    assert "Your answers were saved as a draft." in text
    mine.refresh_from_db()
    assert mine.status == "draft" and mine.answered == len(questions) - 2


def test_a_complete_checklist_is_submitted_and_then_read_only(world, mine, login_as):
    questions = _questions(mine)
    data = {"action": "submit", **{f"v{q.pk}": "yes" for q in questions}, f"v{questions[0].pk}": "na"}
    client = login_as("staff_a")
    assert "Submitted. Thank you." in _messages(client.post(mine.get_absolute_url(), data, follow=True))
    mine.refresh_from_db()
    assert mine.status == "submitted" and mine.submitted_at is not None and mine.answered == len(questions)
    page = client.get(mine.get_absolute_url()).content.decode()
    assert 'name="action"' not in page and "Re-open to correct" in page
    again = client.post(mine.get_absolute_url(), {**data, f"v{questions[1].pk}": "no"}, follow=True)
    assert "This checklist was submitted. Re-open it to change answers." in _messages(again)
    assert Answer.objects.get(assignment=mine, question=questions[1]).value == "yes"
    client.post(f"/inspection/assignments/{mine.pk}/reopen/")
    mine.refresh_from_db()
    assert mine.status == "draft"


def test_only_the_owner_answers_and_the_overseers_only_read(world, mine, login_as):
    q1 = _questions(mine)[0]
    manager = login_as("manager_a")
    assert manager.get(mine.get_absolute_url()).status_code == 200
    response = manager.post(mine.get_absolute_url(), {"action": "draft", f"v{q1.pk}": "no"}, follow=True)
    assert "Only staff_a さん answers this checklist." in _messages(response)
    assert not Answer.objects.filter(assignment=mine).exists()
    assert login_as("staff_b").get(mine.get_absolute_url()).status_code == 404


def test_a_forged_answer_value_or_question_changes_nothing(world, mine, login_as):
    q1 = _questions(mine)[0]
    client = login_as("staff_a")
    bad = client.post(mine.get_absolute_url(), {"action": "draft", f"v{q1.pk}": "maybe"}, follow=True)
    assert f"Unknown answer for {q1.requirement}." in _messages(bad)
    other = assignment_of(mine.campaign, world, "manager_a", "security_manager")
    foreign = _questions(other)[0]
    client.post(mine.get_absolute_url(), {"action": "draft", f"v{foreign.pk}": "yes"})
    assert not Answer.objects.filter(assignment=mine).exists()


def test_a_closed_campaign_keeps_its_answers(world, mine, login_as):
    from mamoru.inspection import services

    services.campaign_close(campaign=mine.campaign)
    q1 = _questions(mine)[0]
    response = login_as("staff_a").post(mine.get_absolute_url(), {"action": "draft", f"v{q1.pk}": "yes"},
                                        follow=True)
    assert "The campaign is closed; its answers can no longer be changed." in _messages(response)


def _upload(client, assignment, question, name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(assignment.get_absolute_url(),
                       {"action": "draft", f"f{question.pk}": SimpleUploadedFile(name, data)}, follow=True)


def test_evidence_is_stored_under_its_hash_and_read_by_overseers_only(world, mine, login_as):
    q1 = _questions(mine)[0]
    response = _upload(login_as("staff_a"), mine, q1, "巡回記録.pdf", PDF)
    sha = hashlib.sha256(PDF).hexdigest()
    assert f"巡回記録.pdf was attached (SHA-256 {sha[:12]}…)." in _messages(response)
    evidence = Evidence.objects.get()
    assert (evidence.sha256, evidence.size, evidence.content_type) == (sha, len(PDF), "application/pdf")
    assert evidence.answer.question == q1
    download = login_as("manager_a").get(f"/inspection/evidence/{evidence.pk}/")
    assert download.status_code == 200 and download.content == PDF
    assert "attachment" in download["Content-Disposition"]
    assert login_as("staff_b").get(f"/inspection/evidence/{evidence.pk}/").status_code == 404
    assert AuditEntry.objects.filter(event="download", object_id=str(evidence.pk)).count() == 1


def _docx(macro: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
        if macro:
            z.writestr("word/vbaProject.bin", b"\x00")
    return out.getvalue()


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("report.pdf", b"\x89PNG\r\n\x1a\n....", "report.pdf does not contain what its name says (.pdf)"),
    ("tool.exe", b"MZ\x90\x00", "tool.exe: this type of file is not accepted as evidence"),
    ("empty.txt", b"", "empty.txt is empty."),
    ("手順.docx", _docx(macro=True), "手順.docx does not contain what its name says (.docx), or contains macros"),
    ("log.txt", b"\x00\x01\x02binary", "log.txt does not contain what its name says (.txt)"),
], ids=["png-as-pdf", "exe", "empty", "docx-with-macro", "binary-as-text"])
def test_unacceptable_evidence_is_refused_with_the_reason(world, mine, login_as, name, data, reason):
    response = _upload(login_as("staff_a"), mine, _questions(mine)[0], name, data)
    assert any(reason in m for m in _messages(response)), _messages(response)
    assert not Evidence.objects.exists()


def test_accepted_evidence_types(world, mine, login_as):
    client = login_as("staff_a")
    q1 = _questions(mine)[0]
    for name, data in [("議事録.docx", _docx()), ("一覧.csv", "課,件数\n課A,3\n".encode("cp932")),
                       ("photo.jpg", b"\xff\xd8\xff\xe0rest")]:
        _upload(client, mine, q1, name, data)
    assert sorted(Evidence.objects.values_list("filename", flat=True)) == ["photo.jpg", "一覧.csv", "議事録.docx"]


def test_oversized_evidence_is_refused(world, mine, login_as, settings):
    from mamoru.inspection import services

    big = b"%PDF-" + b"0" * services.MAX_EVIDENCE_BYTES
    response = _upload(login_as("staff_a"), mine, _questions(mine)[0], "big.pdf", big)
    assert any("evidence files up to 10 MB are accepted" in m for m in _messages(response))
    assert not Evidence.objects.exists()


def test_a_stored_file_that_changed_is_not_served(world, mine, login_as):
    from django.core.files.storage import default_storage

    from mamoru.inspection import services

    data = PDF + b"% unique to this test\n"
    evidence = services.evidence_add(assignment=mine, user=world.user("staff_a"), question_id=_questions(mine)[0].pk,
                                     filename="a.pdf", data=data)
    with default_storage.open(evidence.storage_name, "wb") as f:
        f.write(data + b"tampered")
    response = login_as("manager_a").get(f"/inspection/evidence/{evidence.pk}/", follow=True)
    assert "The stored file no longer matches its SHA-256; it is not served." in _messages(response)
    default_storage.delete(evidence.storage_name)


def test_evidence_can_be_removed_until_submission(world, mine, login_as):
    client = login_as("staff_a")
    q1 = _questions(mine)[0]
    _upload(client, mine, q1, "a.pdf", PDF)
    evidence = Evidence.objects.get()
    client.post(f"/inspection/evidence/{evidence.pk}/delete/")
    assert not Evidence.objects.exists()
    _upload(client, mine, q1, "a.pdf", PDF)
    answer_everything(mine, world.user("staff_a"))
    response = client.post(f"/inspection/evidence/{Evidence.objects.get().pk}/delete/", follow=True)
    assert "This checklist was submitted. Re-open it to change answers." in _messages(response)
    assert Evidence.objects.count() == 1


def test_answers_and_evidence_are_saved_together_and_a_refused_file_stops_the_submission(world, mine, login_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    questions = _questions(mine)
    client = login_as("staff_a")
    data = {"action": "submit", **{f"v{q.pk}": "yes" for q in questions},
            f"f{questions[0].pk}": SimpleUploadedFile("a.pdf", PDF),
            f"f{questions[1].pk}": SimpleUploadedFile("b.pdf", b"not a pdf")}
    response = client.post(mine.get_absolute_url(), data, follow=True)
    text = _messages(response)
    assert "b.pdf does not contain what its name says (.pdf), or contains macros. Save it again in that format " \
           "and upload it." in text
    assert "Your answers were saved as a draft." in text
    mine.refresh_from_db()
    assert mine.status == "draft" and mine.answered == len(questions)
    assert list(Evidence.objects.values_list("filename", flat=True)) == ["a.pdf"]
