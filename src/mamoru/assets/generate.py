"""Deterministic generation of realistic register entries: the demo register and benchmark data sets.

Written with ``bulk_create`` (no per-row audit entries); one audit event records the generation.
"""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction

from mamoru.assets.choices import AssetKind, Tier
from mamoru.assets.models import ClassificationLevel, InformationAsset
from mamoru.assets.services import NUMBER_DIGITS, NUMBER_PREFIX, active_scheme
from mamoru.core import audit
from mamoru.core.choices import AuditEvent
from mamoru.core.models import OrgUnit, Person

# (name, kind, tier, confidentiality family, integrity, availability, personal, my number, medium, system)
TEMPLATES: list[tuple[str, str, str, str, str, str, bool, bool, str, str]] = [
    ("住民基本台帳データ", AssetKind.INFORMATION, Tier.MYNUMBER, "3", "2", "2", True, True, "サーバ", "住民記録システム"),
    ("個人住民税課税台帳", AssetKind.INFORMATION, Tier.MYNUMBER, "3", "2", "2", True, True, "サーバ", "税務システム"),
    ("国民健康保険被保険者台帳", AssetKind.INFORMATION, Tier.MYNUMBER, "3", "2", "2", True, True, "サーバ", "国保システム"),
    ("児童手当受給者一覧", AssetKind.INFORMATION, Tier.MYNUMBER, "3", "2", "1", True, True, "サーバ", "福祉システム"),
    ("窓口申請書（紙）", AssetKind.INFORMATION, Tier.STANDALONE, "3", "2", "1", True, False, "紙", ""),
    ("課内会議資料", AssetKind.INFORMATION, Tier.LGWAN, "2", "1", "1", False, False, "ファイルサーバ", "グループウェア"),
    ("予算要求資料", AssetKind.INFORMATION, Tier.LGWAN, "2", "2", "1", False, False, "ファイルサーバ", "財務会計システム"),
    ("職員連絡網", AssetKind.INFORMATION, Tier.LGWAN, "2", "1", "1", True, False, "ファイルサーバ", "グループウェア"),
    ("業務端末", AssetKind.EQUIPMENT, Tier.LGWAN, "2", "1", "2", False, False, "端末", ""),
    ("マイナンバー利用事務系端末", AssetKind.EQUIPMENT, Tier.MYNUMBER, "3", "2", "2", False, False, "端末", ""),
    ("USBメモリ（管理番号付き）", AssetKind.EQUIPMENT, Tier.STANDALONE, "2", "1", "1", False, False, "USBメモリ", ""),
    ("インターネット閲覧用端末", AssetKind.EQUIPMENT, Tier.INTERNET, "1", "1", "1", False, False, "端末", ""),
    ("ホームページ掲載原稿", AssetKind.INFORMATION, Tier.INTERNET, "1", "1", "1", False, False, "CMS", "ホームページ管理システム"),
    ("広報紙原稿", AssetKind.INFORMATION, Tier.INTERNET, "1", "1", "1", False, False, "CMS", ""),
    ("システム設計書", AssetKind.SYSTEM_DOCUMENT, Tier.LGWAN, "2", "2", "1", False, False, "紙・電子", ""),
    ("ネットワーク構成図", AssetKind.SYSTEM_DOCUMENT, Tier.LGWAN, "3", "2", "1", False, False, "紙・電子", ""),
    ("運用手順書", AssetKind.SYSTEM_DOCUMENT, Tier.LGWAN, "2", "2", "2", False, False, "ファイルサーバ", ""),
    ("委託契約書", AssetKind.INFORMATION, Tier.STANDALONE, "2", "2", "1", False, False, "紙", ""),
]
LOCATIONS = ["本庁舎2階 書庫", "電算室 ラックA", "課内キャビネット（施錠）", "データセンター", "分庁舎1階 書庫"]
RETENTION = ["1年", "3年", "5年", "10年", "30年", "常用"]
DISPOSAL = ["溶解処理", "裁断", "データ消去ソフトによる消去", "物理破壊", "委託業者による消去証明"]


def _levels(municipality: OrgUnit) -> dict[tuple[str, str], ClassificationLevel]:
    scheme = active_scheme(municipality.pk)
    if scheme is None:
        return {}
    levels: dict[tuple[str, str], ClassificationLevel] = {}
    for lv in scheme.levels.all().order_by("rank"):
        levels.setdefault((lv.axis, lv.family), lv)  # for "3", the lowest of 3A/3B/3C (3C)
    return levels


def generate_assets(*, municipality: OrgUnit, count: int, seed: int = 1, violations: bool = True,
                    batch: int = 5000) -> int:
    """Add ``count`` assets spread over the municipality's sections. Returns how many were created."""
    rng = random.Random(seed)
    sections = list(OrgUnit.objects.filter(path__startswith=municipality.path, kind="section").order_by("path"))
    if not sections:
        return 0
    managers: dict[int, list[int]] = {}
    for pk, unit_id in Person.objects.filter(org_unit__in=sections, is_active=True).values_list("pk", "org_unit_id"):
        managers.setdefault(unit_id, []).append(pk)
    levels = _levels(municipality)
    start = InformationAsset.objects.filter(municipality=municipality).count() + 1
    today = dt.date.today()
    created = 0
    with transaction.atomic():
        rows: list[InformationAsset] = []
        for i in range(count):
            n = start + i
            section = sections[i % len(sections)]
            name, kind, tier, c, integ, avail, personal, my_number, medium, system = TEMPLATES[
                rng.randrange(len(TEMPLATES))]
            if violations and rng.random() < 0.01:
                tier = Tier.LGWAN if my_number else Tier.INTERNET  # a few misplaced assets for the checks
            asset = InformationAsset(
                municipality=municipality, number=f"{NUMBER_PREFIX}{n:0{NUMBER_DIGITS}d}",
                name=f"{name}（{section.name}）{'' if i < len(sections) * len(TEMPLATES) else f' {n}'}",
                description=f"{section.name}が管理する{name}。", kind=kind, org_unit=section,
                manager_id=rng.choice(managers[section.pk]) if section.pk in managers and rng.random() > 0.03 else None,
                system_name=system, tier=tier, storage_location=rng.choice(LOCATIONS), medium=medium,
                has_personal_info=personal, has_my_number=my_number,
                confidentiality=levels.get(("confidentiality", c)), integrity=levels.get(("integrity", integ)),
                availability=levels.get(("availability", avail)), retention=rng.choice(RETENTION),
                disposal_method=rng.choice(DISPOSAL),
                last_inventory_on=today - dt.timedelta(days=rng.randrange(30, 500)),
                tags="個人情報" if personal else "",
            )
            asset.refresh_search()
            rows.append(asset)
            if len(rows) >= batch:
                InformationAsset.objects.bulk_create(rows)
                created += len(rows)
                rows = []
        if rows:
            InformationAsset.objects.bulk_create(rows)
            created += len(rows)
        audit.event(AuditEvent.BULK_GENERATED, org_unit=municipality,
                    object_type="assets.informationasset", object_repr=f"{created}",
                    details={"count": created, "seed": seed})
    return created


def load_demo_register(city: OrgUnit) -> None:
    if not InformationAsset.objects.filter(municipality=city).exists():
        generate_assets(municipality=city, count=360, seed=2026)
