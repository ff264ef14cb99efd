"""The demo city's network: the netcheck example inventory, its two firewalls, systems and terminals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from django.contrib.auth.models import AnonymousUser

from mamoru.core.context import acting_as
from mamoru.core.models import OrgUnit, Person
from mamoru.network import services
from mamoru.network.choices import DeploymentModel, SystemKind, ZoneTier
from mamoru.network.models import DeclaredFlow, Firewall, InformationSystem, NetworkProfile, Terminal, Zone

EXAMPLES = Path(__file__).resolve().parents[1] / "netcheck" / "examples"


def load_demo_network(city: OrgUnit) -> None:
    if Zone.objects.filter(municipality=city).exists():
        return
    ciso = Person.objects.filter(org_unit__path__startswith=city.path, assignments__role__code="ciso").first()
    sections = list(OrgUnit.objects.filter(path__startswith=city.path, kind="section").order_by("path"))
    if not sections:
        return
    with acting_as(label="demo"):
        NetworkProfile.objects.create(municipality=city, deployment_model=DeploymentModel.ALPHA)
        text = (EXAMPLES / "inventory.yaml").read_text(encoding="utf-8")
        # The exception needs its approver first (the import refuses exceptions nobody approved).
        mynumber = Zone.objects.create(municipality=city, code="mynumber", name="マイナンバー利用事務系",
                                    tier=ZoneTier.MYNUMBER, cidrs="10.10.0.0/16")
        DeclaredFlow.objects.create(municipality=city, name="eltax", source=mynumber, destination="192.0.2.0/24",
                                    services="tcp/443", purpose="特定通信 (eLTAX)", is_exception=True,
                                    approver=ciso, approved_on=dt.date(2026, 4, 1))
        services.inventory_import(municipality=city, text=text)
        names = {"mynumber": "マイナンバー利用事務系", "lgwan": "LGWAN接続系", "internet": "インターネット接続系",
                 "external": "インターネット（庁外）"}
        for zone in Zone.objects.filter(municipality=city):
            zone.name = names.get(zone.code, zone.name)
            zone.save()
        for fw, file in (("fw-core", "fw-core.rules"), ("fw-branch", "fw-branch.json")):
            firewall = Firewall.objects.get(municipality=city, name=fw)
            services.ruleset_upload(firewall=firewall, filename=file, data=(EXAMPLES / file).read_bytes(),
                                    user=AnonymousUser())
        systems = [("住民基本台帳システム", SystemKind.MY_NUMBER, ZoneTier.MYNUMBER),
                   ("税務システム", SystemKind.MY_NUMBER, ZoneTier.MYNUMBER),
                   ("財務会計システム", SystemKind.BUSINESS, ZoneTier.LGWAN),
                   ("グループウェア", SystemKind.GROUPWARE, ZoneTier.INTERNET),  # α: belongs in LGWAN (NET-003)
                   ("インターネットメール", SystemKind.INTERNET_MAIL, ZoneTier.INTERNET),
                   ("Webサイト管理システム", SystemKind.WEB, ZoneTier.INTERNET)]
        for i, (name, kind, tier) in enumerate(systems):
            InformationSystem.objects.create(org_unit=sections[i % len(sections)], name=name, kind=kind, tier=tier)
        for i in range(4):
            Terminal.objects.create(org_unit=sections[i % len(sections)], name=f"MN-{i + 1:03d}",
                                    tier=ZoneTier.MYNUMBER, multi_factor=True, export_blocked=i != 3)
            Terminal.objects.create(org_unit=sections[i % len(sections)], name=f"LG-{i + 1:03d}",
                                    tier=ZoneTier.LGWAN, multi_factor=False, export_blocked=True)
        services.verification_run(municipality=city, user=AnonymousUser())
