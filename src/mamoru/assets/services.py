"""Write-side operations of the asset register (keyword-only, validated, atomic, audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from mamoru.assets.models import ClassificationLevel, ClassificationScheme, HandlingRule, InformationAsset
from mamoru.assets.presets import HANDLING_DEFAULTS, PRESETS
from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit

NUMBER_PREFIX = "A-"
NUMBER_DIGITS = 6
BULK_FIELDS = ("org_unit", "manager", "tier")


# --- schemes --------------------------------------------------------------------------------------

def scheme_presets_load(municipality: OrgUnit) -> str:
    """Create the preset schemes the municipality lacks; the first becomes active. Idempotent."""
    added = []
    with transaction.atomic():
        for code, (name, description, levels) in PRESETS.items():
            if ClassificationScheme.objects.filter(municipality=municipality, code=code).exists():
                continue
            scheme = ClassificationScheme(municipality=municipality, code=code, name=name, description=description)
            scheme.full_clean()
            scheme.save()
            for spec in levels:
                level = ClassificationLevel.objects.create(
                    scheme=scheme, axis=spec.axis, code=spec.code, label=spec.label, definition=spec.definition,
                    rank=spec.rank, base_code=spec.base_code)
                for axis, minimum, rules in HANDLING_DEFAULTS:
                    if axis == spec.axis and level.family == minimum:
                        for aspect, text in rules.items():
                            HandlingRule.objects.update_or_create(level=level, aspect=aspect, defaults={"text": text})
            added.append(name)
        if not ClassificationScheme.objects.filter(municipality=municipality, is_active=True).exists():
            first = ClassificationScheme.objects.filter(municipality=municipality, code="mic-r5").first()
            if first is not None:
                first.is_active = True
                first.save()
    return ", ".join(added)


def active_scheme(municipality_id: int) -> ClassificationScheme | None:
    return ClassificationScheme.objects.filter(municipality_id=municipality_id, is_active=True).first()


@dataclass
class SwitchChange:
    asset: InformationAsset
    changes: dict[str, tuple[ClassificationLevel | None, ClassificationLevel | None]] = field(default_factory=dict)


@dataclass
class SwitchPlan:
    source: ClassificationScheme
    target: ClassificationScheme
    changes: list[SwitchChange]
    unmapped: list[ClassificationLevel]

    @property
    def ok(self) -> bool:
        return not self.unmapped


def scheme_switch_plan(*, target: ClassificationScheme, mapping: dict[int, int]) -> SwitchPlan:
    """Preview of a switch to ``target``: every asset whose levels change, and source levels without a mapping.

    ``mapping`` maps each level id of the active scheme to a level id of the target scheme (same axis).
    """
    source = active_scheme(target.municipality_id)
    if source is None or source.pk == target.pk:
        raise ValidationError(_("Choose a scheme other than the active one."))
    target_levels = {lv.pk: lv for lv in target.levels.all()}
    source_levels = {lv.pk: lv for lv in source.levels.all()}
    errors = []
    for src_id, dst_id in mapping.items():
        src, dst = source_levels.get(src_id), target_levels.get(dst_id)
        if src is None or dst is None or src.axis != dst.axis:
            errors.append(_("The mapping of level %(level)s is not valid.") % {"level": src or src_id})
    if errors:
        raise ValidationError(errors)
    used = set()
    for axis in InformationAsset.AXES:
        used.update(InformationAsset.objects.filter(municipality_id=target.municipality_id)
                    .exclude(**{f"{axis}__isnull": True}).values_list(f"{axis}_id", flat=True).distinct())
    unmapped = [source_levels[i] for i in sorted(used) if i in source_levels and i not in mapping]
    changes = []
    qs = (InformationAsset.objects.filter(municipality_id=target.municipality_id)
          .select_related(*InformationAsset.AXES).order_by("number"))
    for asset in qs.iterator(chunk_size=2000):
        change = SwitchChange(asset=asset)
        for axis in InformationAsset.AXES:
            current = getattr(asset, axis)
            if current is not None and current.pk in mapping:
                change.changes[axis] = (current, target_levels[mapping[current.pk]])
        if change.changes:
            changes.append(change)
    return SwitchPlan(source=source, target=target, changes=changes, unmapped=unmapped)


def scheme_switch_apply(*, target: ClassificationScheme, mapping: dict[int, int], actor: Any) -> SwitchPlan:
    """Switch the municipality to ``target`` in one transaction: re-level every asset, activate the scheme.

    Each asset's change is in the audit trail (its save), plus one APPROVAL event for the whole operation.
    """
    with transaction.atomic():
        plan = scheme_switch_plan(target=target, mapping=mapping)
        if not plan.ok:
            raise ValidationError(_("Map every level that assets use: %(levels)s")
                                  % {"levels": ", ".join(str(lv) for lv in plan.unmapped)})
        for change in plan.changes:
            for axis, (_old, new) in change.changes.items():
                setattr(change.asset, axis, new)
            change.asset.save()
        plan.source.is_active = False
        plan.source.save()
        target.is_active = True
        target.save()
        audit.event(AuditEvent.APPROVAL, obj=target, actor=actor, details={
            "operation": "classification scheme switch", "from": plan.source.name, "to": target.name,
            "assets_changed": len(plan.changes)})
    return plan


# --- assets ---------------------------------------------------------------------------------------

def asset_number_next(municipality_id: int) -> str:
    last = (InformationAsset.objects.filter(municipality_id=municipality_id, number__startswith=NUMBER_PREFIX)
            .aggregate(m=Max("number"))["m"])
    n = int(last[len(NUMBER_PREFIX):]) + 1 if last and last[len(NUMBER_PREFIX):].isdigit() else 1
    return f"{NUMBER_PREFIX}{n:0{NUMBER_DIGITS}d}"


NUMBER_ATTEMPTS = 5


@transaction.atomic
def asset_create(*, org_unit: OrgUnit, name: str, number: str = "", **fields: Any) -> InformationAsset:
    """Create an asset; without ``number`` it gets the municipality's next register number.

    Two people saving at the same moment can be given the same next number: the unique constraint then
    refuses the second insert, which takes the following number (up to NUMBER_ATTEMPTS times).
    """
    municipality_id = org_unit.root_id
    if number:
        asset = InformationAsset(org_unit=org_unit, municipality_id=municipality_id, name=name, number=number,
                                 **fields)
        asset.full_clean()
        asset.save()
        return asset
    for attempt in range(NUMBER_ATTEMPTS):
        asset = InformationAsset(org_unit=org_unit, municipality_id=municipality_id, name=name,
                                 number=asset_number_next(municipality_id), **fields)
        asset.full_clean(exclude=["number"])  # the database decides whether the number is still free
        try:
            with transaction.atomic():
                asset.save()
        except IntegrityError:
            if attempt == NUMBER_ATTEMPTS - 1 or not InformationAsset.objects.filter(
                    municipality_id=municipality_id, number=asset.number).exists():
                raise
            asset.pk = None
            continue
        return asset
    raise AssertionError("unreachable")


@transaction.atomic
def asset_update(*, asset: InformationAsset, **fields: Any) -> InformationAsset:
    for name, value in fields.items():
        setattr(asset, name, value)
    asset.full_clean()
    asset.save()
    return asset


@transaction.atomic
def asset_bulk_update(*, assets: list[InformationAsset], **fields: Any) -> int:
    """Set section, manager and/or tier on the selected assets; all or nothing."""
    unknown = set(fields) - set(BULK_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be changed in bulk: %(fields)s") % {"fields": ", ".join(unknown)})
    for asset in assets:
        asset_update(asset=asset, **fields)
    return len(assets)


@transaction.atomic
def asset_dispose(*, asset: InformationAsset, on: dt.date, method: str, record: str) -> InformationAsset:
    return asset_update(asset=asset, status="disposed", disposed_on=on, disposal_method=method or asset.disposal_method,
                        disposal_record=record)
