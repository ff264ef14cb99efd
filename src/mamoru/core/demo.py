"""The demo city loaded by ``mamoru init --demo``: ~10 departments, ~30 sections, ~60 people, every role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from mamoru.core import services
from mamoru.core.choices import PersonKind, ScopeCategory, UnitKind
from mamoru.core.models import OrgUnit

DEMO_PASSWORD = "mamoru-demo-2026"  # noqa: S105 - printed to the operator; demo data only
DEMO_CITY_CODE = "demo-city"

# department code, name, scope category, sections (code, name)
DEPARTMENTS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("somu", "総務部", ScopeCategory.MAYOR, [("somu-ka", "総務課"), ("jinji", "人事課"), ("kikikanri", "危機管理課")]),
    ("kikaku", "企画政策部", ScopeCategory.MAYOR,
     [("joho", "情報政策課"), ("kikaku-ka", "企画政策課"), ("koho", "広報課")]),
    ("shimin", "市民部", ScopeCategory.MAYOR, [("shimin-ka", "市民課"), ("zeimu", "税務課"), ("hoken", "国保年金課")]),
    ("fukushi", "福祉部", ScopeCategory.MAYOR,
     [("shakai", "社会福祉課"), ("kodomo", "子育て支援課"), ("kaigo", "介護保険課")]),
    ("kenko", "健康スポーツ部", ScopeCategory.MAYOR, [("kenko-ka", "健康医療課"), ("sports", "スポーツ振興課")]),
    ("kankyo", "環境経済部", ScopeCategory.MAYOR, [("kankyo-ka", "環境課"), ("shoko", "商工観光課"),
                                                   ("nosei", "農業振興課")]),
    ("kensetsu", "建設部", ScopeCategory.MAYOR,
     [("doboku", "道路課"), ("toshi", "都市計画課"), ("kenchiku", "建築審査課")]),
    ("suido", "上下水道部", ScopeCategory.WATERWORKS, [("suido-ka", "水道課"), ("gesui", "下水道課")]),
    ("kyoiku", "教育部", ScopeCategory.COMMISSIONS,
     [("kyoiku-somu", "教育総務課"), ("gakko", "学校教育課"), ("gakko-zaimu", "学校財務会計端末")]),
    ("gikai", "議会事務局", ScopeCategory.ASSEMBLY, [("gikai-ka", "議事調査課")]),
    ("iinkai", "行政委員会事務局", ScopeCategory.COMMISSIONS,
     [("senkyo", "選挙管理委員会事務局"), ("kansa", "監査委員事務局"), ("nogyo-iin", "農業委員会事務局")]),
]

SURNAMES = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田",
            "佐々木", "山口", "松本", "井上", "木村", "林", "斎藤", "清水"]
GIVEN = ["一郎", "花子", "健太", "美咲", "翔", "陽菜", "大輔", "結衣", "拓也", "さくら"]


@dataclass(frozen=True)
class DemoLogin:
    username: str
    name: str
    role: str
    unit: str


def _name(i: int) -> str:
    # Unique for the first len(SURNAMES) * len(GIVEN) people.
    return f"{SURNAMES[i % len(SURNAMES)]} {GIVEN[(i // len(SURNAMES) + i) % len(GIVEN)]}"


@transaction.atomic
def load_demo() -> list[DemoLogin]:
    """Create the demo city. Idempotent: returns [] when it already exists."""
    if OrgUnit.objects.filter(code=DEMO_CITY_CODE, parent__isnull=True).exists():
        return []
    user_model = get_user_model()
    city = services.municipality_create(name="みどり市（デモ）", code=DEMO_CITY_CODE)
    logins: list[DemoLogin] = []
    counter = 0

    def person(unit: OrgUnit, username: str, title: str, kind: str = PersonKind.STAFF,
               employer: str = "") -> object:
        nonlocal counter
        counter += 1
        user = user_model.objects.create_user(username=username, password=DEMO_PASSWORD,
                                              email=f"{username}@city.example.lg.jp")
        return services.person_create(full_name=_name(counter), org_unit=unit, user=user, title=title, kind=kind,
                                      employee_number=f"D{counter:05d}", email=user.email, employer=employer)

    def grant(p: object, role: str, unit: OrgUnit, username: str, covers: bool = True) -> None:
        services.role_assign(person=p, role=role, org_unit=unit, covers_children=covers)  # type: ignore[arg-type]
        logins.append(DemoLogin(username, p.full_name, role, unit.name))  # type: ignore[attr-defined]

    sections: dict[str, OrgUnit] = {}
    departments: dict[str, OrgUnit] = {}
    for d_order, (d_code, d_name, scope, secs) in enumerate(DEPARTMENTS):
        dept = services.orgunit_create(name=d_name, code=d_code, kind=UnitKind.DEPARTMENT, parent=city,
                                       scope_category=scope, sort_order=d_order)
        departments[d_code] = dept
        for s_order, (s_code, s_name) in enumerate(secs):
            sections[s_code] = services.orgunit_create(
                name=s_name, code=s_code, kind=UnitKind.SECTION, parent=dept, scope_category=scope,
                sort_order=s_order,
                in_scope=s_code != "nogyo-iin")  # one unit outside scope, to show the flag

    grant(person(departments["somu"], "ciso", "副市長"), "ciso", city, "ciso")
    grant(person(sections["joho"], "tokatsu", "企画政策部長"), "chief", city, "tokatsu")
    for d_code, dept in departments.items():
        grant(person(dept, f"bucho-{d_code}", "部長"), "dept_head", dept, f"bucho-{d_code}")
    for s_code, sec in sections.items():
        if s_code == "gikai-ka":
            continue  # one in-scope section without a manager: the policy check finds it
        grant(person(sec, f"kacho-{s_code}", "課長"), "section_manager", sec, f"kacho-{s_code}", covers=True)
    admin = person(sections["joho"], "sysadmin-joho", "主査（情報システム担当）")
    grant(admin, "system_admin", sections["joho"], "sysadmin-joho")
    grant(person(sections["zeimu"], "sysadmin-zeimu", "主任（税務システム）"), "system_admin", sections["zeimu"],
          "sysadmin-zeimu")
    grant(person(sections["joho"], "tanto-joho", "主事"), "system_operator", sections["joho"], "tanto-joho")
    grant(person(sections["kikikanri"], "csirt", "危機管理課 主査"), "csirt", city, "csirt")
    grant(person(sections["somu-ka"], "iinkai", "総務課長補佐"), "committee", city, "iinkai")
    auditor = person(sections["kansa"], "kansa", "監査委員事務局 主幹", kind=PersonKind.AUDITOR)
    grant(auditor, "auditor", city, "kansa")
    contractor = person(sections["joho"], "itaku", "運用保守 SE", kind=PersonKind.CONTRACTOR,
                        employer="株式会社デモシステムズ")
    grant(contractor, "contractor", sections["joho"], "itaku", covers=False)
    for s_code in ("shimin-ka", "zeimu", "kodomo", "joho", "suido-ka", "gakko"):
        person(sections[s_code], f"staff-{s_code}", "主事")
        logins.append(DemoLogin(f"staff-{s_code}", "", "staff", sections[s_code].name))
    return logins


# Apps add demo content of their own (e.g. a realistic asset register) after the city and its defaults exist.
_DEMO_CONTENT: list[Any] = []


def register_demo_content(loader: Any) -> None:
    if loader not in _DEMO_CONTENT:
        _DEMO_CONTENT.append(loader)


def load_demo_content() -> None:
    from django.conf import settings
    from django.utils import translation

    city = OrgUnit.objects.filter(code=DEMO_CITY_CODE, parent__isnull=True).first()
    if city is None:
        return
    with translation.override(settings.LANGUAGE_CODE):  # demo texts in the site's language
        for loader in _DEMO_CONTENT:
            loader(city)
