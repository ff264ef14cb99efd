"""Named personas with fixed roles, used by every app's tests (architecture: Tests and measurements).

The city (テスト市) has two departments: 部A (課A, 課A2) and 部B (課B). A second municipality (他市)
with its own CISO proves that one installation keeps cities apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mamoru.core import services
from mamoru.core.choices import PersonKind, UnitKind
from mamoru.core.models import OrgUnit, Person
from tests.factories import PASSWORD, UserFactory

# persona name → (role code or None, unit key, covers children, person kind)
PERSONA_SPECS: dict[str, tuple[str | None, str, bool, str]] = {
    "ciso": ("ciso", "city", True, PersonKind.STAFF),
    "chief": ("chief", "city", True, PersonKind.STAFF),
    "dept_head_a": ("dept_head", "dept_a", True, PersonKind.STAFF),
    "manager_a": ("section_manager", "sec_a", True, PersonKind.STAFF),
    "sysadmin_a": ("system_admin", "sec_a", True, PersonKind.STAFF),
    "staff_a": (None, "sec_a", False, PersonKind.STAFF),
    "staff_b": (None, "sec_b", False, PersonKind.STAFF),
    "auditor": ("auditor", "city", True, PersonKind.AUDITOR),
    "contractor": ("contractor", "sec_a", False, PersonKind.CONTRACTOR),
    "other_ciso": ("ciso", "other_city", True, PersonKind.STAFF),
}
PERSONAS = tuple(PERSONA_SPECS)


@dataclass
class World:
    units: dict[str, OrgUnit] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)

    def user(self, persona: str) -> Any:
        return self.people[persona].user

    @property
    def password(self) -> str:
        return PASSWORD


def build_world() -> World:
    services.roles_sync()
    w = World()
    city = services.municipality_create(name="テスト市", code="test-city")
    other = services.municipality_create(name="他市", code="other-city")
    dept_a = services.orgunit_create(name="部A", code="dept-a", kind=UnitKind.DEPARTMENT, parent=city)
    dept_b = services.orgunit_create(name="部B", code="dept-b", kind=UnitKind.DEPARTMENT, parent=city)
    w.units = {
        "city": city, "other_city": other, "dept_a": dept_a, "dept_b": dept_b,
        "sec_a": services.orgunit_create(name="課A", code="sec-a", kind=UnitKind.SECTION, parent=dept_a),
        "sec_a2": services.orgunit_create(name="課A2", code="sec-a2", kind=UnitKind.SECTION, parent=dept_a),
        "sec_b": services.orgunit_create(name="課B", code="sec-b", kind=UnitKind.SECTION, parent=dept_b),
        "other_sec": services.orgunit_create(name="他市 課", code="other-sec", kind=UnitKind.SECTION,
                                             parent=other),
    }
    for name, (role, unit_key, covers, kind) in PERSONA_SPECS.items():
        unit = w.units[unit_key]
        home = w.units["sec_a"] if unit_key == "city" else w.units["other_sec"] if unit_key == "other_city" else unit
        person = services.person_create(full_name=f"{name} さん", org_unit=home, kind=kind,
                                        user=UserFactory(username=name))
        if role:
            services.role_assign(person=person, role=role, org_unit=unit, covers_children=covers)
        w.people[name] = person
    return w
