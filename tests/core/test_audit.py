"""The audit trail: automatic records, explicit events, append-only, tamper detection."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection

from mamoru.core import audit
from mamoru.core.context import acting_as
from mamoru.core.models import AuditEntry, OrgUnit

pytestmark = pytest.mark.django_db


def latest(**filters):
    return AuditEntry.objects.filter(**filters).order_by("-seq").first()


def test_update_records_actor_address_and_field_changes(world):
    unit = world.units["sec_b"]
    with acting_as(user=world.user("chief"), source_ip="192.0.2.7"):
        unit.name = "課B（改）"
        unit.in_scope = False
        unit.save()
    entry = latest(object_type="core.orgunit", object_id=str(unit.pk), action="update")
    assert entry.actor == "chief"
    assert entry.source_ip == "192.0.2.7"
    assert entry.changes == {"name": ["課B", "課B（改）"], "in_scope": [True, False]}


def test_create_and_delete_are_recorded(world):
    from mamoru.core import services

    with acting_as(user=world.user("ciso")):
        unit = services.orgunit_create(name="臨時課", code="tmp", kind="section", parent=world.units["dept_b"])
        pk = unit.pk
        unit.delete()
    assert latest(object_id=str(pk), action="create").changes["name"] == [None, "臨時課"]
    assert latest(object_id=str(pk), action="delete").changes["name"] == ["臨時課", None]


def test_password_hash_never_reaches_the_trail(world):
    user = world.user("staff_a")
    user.set_password("another-long-password-1")
    user.save()
    entry = latest(object_type="auth.user", object_id=str(user.pk), action="update")
    assert entry.changes["password"] == ["********", "********"]


def test_unchanged_save_records_nothing(world):
    before = AuditEntry.objects.count()
    world.units["sec_a"].save()
    assert AuditEntry.objects.count() == before


def test_request_actor_and_address_come_from_the_request(world, login_as):
    client = login_as("ciso")
    client.post("/accounts/logout/", REMOTE_ADDR="198.51.100.9")
    entry = latest(event="logout")
    assert entry.actor == "ciso" and entry.source_ip == "198.51.100.9"


def test_entries_cannot_be_changed_or_deleted_through_the_orm(world):
    entry = AuditEntry.objects.order_by("seq").first()
    entry.actor = "someone else"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(actor="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_chain_is_intact_after_normal_work(world):
    result = audit.verify()
    assert result.ok and result.checked == AuditEntry.objects.count() > 20


def _verify_cli() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("audit", "verify", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code), err.getvalue()
    return 0, out.getvalue()


def test_verify_command_exit_0_when_intact(world):
    code, text = _verify_cli()
    assert code == 0 and "intact" in text


def test_raw_sql_alteration_is_caught_and_named(world):
    target = AuditEntry.objects.order_by("seq")[5]
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET actor = %s WHERE id = %s", ["mallory", target.pk])
    code, text = _verify_cli()
    assert code == 1
    assert f"#{target.seq} was altered" in text


def test_raw_sql_deletion_in_the_middle_is_caught(world):
    target = AuditEntry.objects.order_by("seq")[3]
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditentry WHERE id = %s", [target.pk])
    code, text = _verify_cli()
    assert code == 1 and f"#{target.seq} is missing" in text


def test_raw_sql_deletion_of_the_newest_entries_is_caught(world):
    last = AuditEntry.objects.order_by("-seq").first()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM core_auditentry WHERE seq = %s", [last.seq])
    code, text = _verify_cli()
    assert code == 1 and "missing" in text


def test_rehashing_a_row_breaks_the_link_to_the_next(world):
    """Someone who alters a row and recomputes its hash still breaks the next entry's prev_hash."""
    target = AuditEntry.objects.order_by("seq")[2]
    target.actor = "mallory"
    forged = audit.compute_hash(target)
    with connection.cursor() as cur:
        cur.execute("UPDATE core_auditentry SET actor = %s, hash = %s WHERE id = %s",
                    ["mallory", forged, target.pk])
    result = audit.verify()
    assert not result.ok and result.bad_seq == target.seq + 1


def test_audit_page_filters_by_who_and_what(world, login_as):
    with acting_as(user=world.user("chief")):
        unit = world.units["sec_b"]
        unit.name = "監査テスト課"
        unit.save()
    page = login_as("auditor").get("/audit/", {"actor": "chief", "q": "監査テスト課"})
    assert page.status_code == 200
    assert "監査テスト課" in page.content.decode()
    other = login_as("auditor").get("/audit/", {"actor": "nobody-like-this"})
    assert "監査テスト課" not in other.content.decode()


def test_audit_csv_export_is_audited_and_neutralises_formulas(world, login_as):
    with acting_as(user=world.user("chief")):
        unit = world.units["sec_b"]
        unit.name = "=HYPERLINK(\"x\")"
        unit.save()
    response = login_as("ciso").get("/audit/export.csv")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 10
    assert any(r[8].startswith("'=HYPERLINK") for r in rows[1:])
    assert latest(event="export").actor == "ciso"


def test_other_municipality_reads_only_its_own_trail(world, login_as):
    page = login_as("other_ciso").get("/audit/", {"q": "課A"})
    body = page.content.decode()
    assert page.status_code == 200
    assert "課A2" not in body
    own = set(AuditEntry.objects.restrict(world.user("other_ciso")).values_list("org_unit_path", flat=True))
    other_root = world.units["other_city"].path
    assert own and all(p.startswith(other_root) for p in own)


def test_section_manager_gets_404_on_audit_pages(world, login_as):
    client = login_as("manager_a")
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export.csv").status_code == 404


def test_org_unit_path_tracks_moves(world):
    sec_b = world.units["sec_b"]
    sec_b.parent = world.units["dept_a"]
    sec_b.save()
    sec_b.refresh_from_db()
    assert sec_b.path == f"{world.units['dept_a'].path}{sec_b.pk}/"
    assert OrgUnit.objects.filter(path__startswith=world.units["dept_a"].path).count() == 4


def test_audit_page_shows_event_names_and_details_readably(world, login_as):
    from mamoru.core.choices import AuditEvent

    audit.event(AuditEvent.MFA_ENROLLED, obj=world.user("staff_a"), actor=world.user("staff_a"),
                details={"device": "authenticator"})
    body = login_as("ciso").get("/audit/", {"event": "mfa_enrolled"}).content.decode()
    assert "多要素認証の登録" in body
    assert "authenticator" in body and "a → u" not in body
