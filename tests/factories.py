"""factory_boy factories shared by every app's tests."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from mamoru.core.choices import PersonKind, UnitKind
from mamoru.core.models import OrgUnit, Person, Role, RoleAssignment

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@city.example.lg.jp")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"テスト市{n}")
    code = factory.Sequence(lambda n: f"city{n}")
    kind = UnitKind.MUNICIPALITY
    parent = None


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    name = factory.Sequence(lambda n: f"課{n}")
    code = factory.Sequence(lambda n: f"unit{n}")
    kind = UnitKind.SECTION
    parent = factory.SubFactory(MunicipalityFactory)


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    full_name = factory.Sequence(lambda n: f"職員 {n}")
    org_unit = factory.SubFactory(OrgUnitFactory)
    kind = PersonKind.STAFF
    user = factory.SubFactory(UserFactory)


class RoleAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    person = factory.SubFactory(PersonFactory)
    role = factory.LazyFunction(lambda: Role.objects.get(code="section_manager"))
    org_unit = factory.LazyAttribute(lambda o: o.person.org_unit)
    covers_children = True
