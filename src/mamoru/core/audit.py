"""The audit trail: automatic change records and explicit events, append-only and hash-chained.

Every entry's hash covers its content and the previous entry's hash, so altering or deleting a row
with raw SQL breaks the chain; the chain head (last sequence and hash) catches removal of the tail.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from mamoru.core.choices import AuditAction
from mamoru.core.context import current_actor

GENESIS = "0" * 64
MASK = "********"
SENSITIVE = frozenset({"password", "key_hash", "key", "secret", "token"})
USER_EXCLUDE = frozenset({"last_login"})


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def compute_hash(e: Any) -> str:
    """Hash of an entry's content and its predecessor's hash (works on model instances)."""
    ts = e.timestamp
    if isinstance(ts, dt.datetime):
        ts = ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {
        "seq": e.seq, "timestamp": ts, "actor_id": e.actor_id, "actor": e.actor,
        "source_ip": e.source_ip or None, "action": e.action, "event": e.event,
        "object_type": e.object_type, "object_id": e.object_id, "object_repr": e.object_repr,
        "changes": e.changes, "org_unit_id": e.org_unit_id, "org_unit_path": e.org_unit_path,
        "prev_hash": e.prev_hash,
    }
    return hashlib.sha256(_canonical(content)).hexdigest()


def _object_unit(instance: Any) -> tuple[int | None, str]:
    """The org unit an object belongs to (for scoping who reads its audit entries)."""
    from django.contrib.auth import get_user_model

    from mamoru.core.models import OrgUnit, Person

    if isinstance(instance, OrgUnit):
        if not instance.path and instance.pk:  # just inserted: the path is written right after
            parent_path = instance.parent.path if instance.parent_id else "/"
            return instance.pk, f"{parent_path}{instance.pk}/"
        return instance.pk, instance.path
    scope_path = getattr(type(instance), "scope_path", None)
    if isinstance(instance, get_user_model()):
        person = Person.objects.filter(user_id=instance.pk).select_related("org_unit").first()
        return (person.org_unit_id, person.org_unit.path) if person else (None, "")
    if not scope_path or scope_path == "org_unit_path":
        return None, ""
    target: Any = instance
    try:
        for part in scope_path.split("__"):
            target = getattr(target, part)
            if target is None:
                return None, ""
    except Exception:
        return None, ""
    return target.pk, target.path


def record(*, action: str, event: str = "", obj: Any = None, object_type: str = "", object_id: str = "",
           object_repr: str = "", changes: dict[str, Any] | None = None, actor: Any = None,
           source_ip: str | None = None, org_unit: Any = None) -> Any:
    """Append one entry. ``actor``/``source_ip`` default to the current request's (see middleware)."""
    from mamoru.core.models import AuditChainHead, AuditEntry

    ctx = current_actor.get()
    if actor is None and ctx is not None:
        actor = ctx.user
    if source_ip is None and ctx is not None:
        source_ip = ctx.source_ip
    actor_label = ""
    actor_id = None
    if actor is not None and getattr(actor, "is_authenticated", False):
        actor_id = actor.pk
        actor_label = actor.get_username()
    elif isinstance(actor, str):
        actor_label = actor
    elif ctx is not None and ctx.label:
        actor_label = ctx.label

    unit_id, unit_path = None, ""
    if org_unit is not None:
        unit_id, unit_path = org_unit.pk, org_unit.path
    elif obj is not None:
        unit_id, unit_path = _object_unit(obj)
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]

    # Inside a caller's transaction no savepoint of its own: an entry that cannot be written fails that
    # transaction as a whole (two statements fewer per entry; bulk operations write thousands).
    with transaction.atomic(savepoint=False):
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        entry = AuditEntry(
            seq=head.last_seq + 1,
            timestamp=timezone.now(),
            actor_id=actor_id, actor=actor_label[:150], source_ip=source_ip or None,
            action=action, event=event, object_type=object_type, object_id=object_id,
            object_repr=object_repr[:200], changes=_jsonable(changes or {}),
            org_unit_id=unit_id, org_unit_path=unit_path, prev_hash=head.last_hash,
        )
        entry.hash = compute_hash(entry)
        entry.save()
        AuditChainHead.objects.filter(pk=1).update(last_seq=entry.seq, last_hash=entry.hash)
    return entry


def event(name: str, *, obj: Any = None, actor: Any = None, details: dict[str, Any] | None = None,
          source_ip: str | None = None, object_type: str = "", object_repr: str = "",
          org_unit: Any = None) -> Any:
    """Record an explicit event (sign-in, export, approval …)."""
    return record(action=AuditAction.EVENT, event=name, obj=obj, actor=actor, changes=details,
                  source_ip=source_ip, object_type=object_type, object_repr=object_repr, org_unit=org_unit)


# --- automatic change records -------------------------------------------------------------------

def _audited(sender: type[models.Model]) -> bool:
    from django.contrib.auth import get_user_model

    from mamoru.core.models import AuditedModel

    return issubclass(sender, AuditedModel) or sender is get_user_model()


def _excluded(sender: type[models.Model]) -> frozenset[str]:
    return frozenset(getattr(sender, "audit_exclude", frozenset())) | USER_EXCLUDE


def snapshot(instance: models.Model) -> dict[str, Any]:
    data: dict[str, Any] = {}
    excluded = _excluded(type(instance))
    for f in instance._meta.concrete_fields:
        if f.name in excluded:
            continue
        value = f.value_from_object(instance)
        if f.name in SENSITIVE:
            # Only a digest, to notice a change; the trail shows "********" on both sides.
            value = MASK + hashlib.sha256(str(value).encode()).hexdigest() if value else ""
        data[f.attname] = _jsonable(value)
    return data


def _masked(value: Any) -> Any:
    return MASK if isinstance(value, str) and value.startswith(MASK) else value


def _pre_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kw: Any) -> None:
    if raw or not _audited(sender):
        return
    before = None
    if instance.pk is not None and not instance._state.adding:
        old = sender._base_manager.filter(pk=instance.pk).first()
        before = snapshot(old) if old is not None else None
    instance._audit_before = before  # type: ignore[attr-defined]


def _post_save(sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False,
               update_fields: Iterable[str] | None = None, **kw: Any) -> None:
    if raw or not _audited(sender):
        return
    after = snapshot(instance)
    before = getattr(instance, "_audit_before", None)
    if created or before is None:
        record(action=AuditAction.CREATE, obj=instance,
               changes={k: [None, _masked(v)] for k, v in after.items() if v not in (None, "")})
        return
    diff = {k: [_masked(before.get(k)), _masked(v)] for k, v in after.items() if before.get(k) != v}
    for k in set(before) - set(after):
        diff[k] = [before[k], None]
    if diff:
        record(action=AuditAction.UPDATE, obj=instance, changes=diff)


def _post_delete(sender: type[models.Model], instance: models.Model, **kw: Any) -> None:
    if not _audited(sender):
        return
    record(action=AuditAction.DELETE, obj=instance,
           changes={k: [_masked(v), None] for k, v in snapshot(instance).items() if v not in (None, "")})


pre_save.connect(_pre_save, dispatch_uid="mamoru_audit_pre_save")
post_save.connect(_post_save, dispatch_uid="mamoru_audit_post_save")
post_delete.connect(_post_delete, dispatch_uid="mamoru_audit_post_delete")


# --- verification ---------------------------------------------------------------------------------

@dataclass
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    bad_seq: int | None = None


def verify(batch: int = 2000) -> VerifyResult:
    """Walk the chain in sequence order; report the first entry that does not fit."""
    from mamoru.core.models import AuditChainHead, AuditEntry

    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = list(AuditEntry.objects.filter(seq__gte=expected_seq).order_by("seq")[:batch])
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                return VerifyResult(False, checked, f"entry #{expected_seq} is missing (next is #{e.seq})",
                                    expected_seq)
            if e.prev_hash != prev_hash:
                return VerifyResult(False, checked, f"entry #{e.seq} does not link to entry #{e.seq - 1}",
                                    e.seq)
            if compute_hash(e) != e.hash:
                return VerifyResult(False, checked, f"entry #{e.seq} was altered (hash mismatch)", e.seq)
            prev_hash = e.hash
            expected_seq += 1
            checked += 1
            last_seq = e.seq
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq != last_seq or head.last_hash != prev_hash):
        return VerifyResult(False, checked,
                            f"entries after #{last_seq} are missing (the chain head records #{head.last_seq})",
                            last_seq + 1)
    return VerifyResult(True, checked)
