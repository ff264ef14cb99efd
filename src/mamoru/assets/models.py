"""The information asset register: classification schemes, handling restrictions, assets."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mamoru.assets.choices import AssetKind, AssetStatus, Axis, HandlingAspect, Tier
from mamoru.core import roles
from mamoru.core.models import AuditedModel, OrgUnit, Person
from mamoru.core.text import normalize

# Reference data of a municipality: everyone in the city reads it, the CISO and 統括 change it.
CITY_REFERENCE_ACTIONS = {"add": roles.ORG_ADMIN, "change": roles.ORG_ADMIN, "delete": roles.ORG_ADMIN,
                          "approve": roles.ORG_ADMIN, "export": roles.ORG_ADMIN}


class ClassificationScheme(AuditedModel):
    """A classification scheme (e.g. "MIC 令和6年10月"); one is active per municipality."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.PROTECT,
                                     related_name="classification_schemes")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=False)

    scope_path = "municipality"
    municipality_wide_view = True
    role_actions = CITY_REFERENCE_ACTIONS

    class Meta:
        ordering = ["municipality", "-is_active", "name"]
        verbose_name = _("classification scheme")
        verbose_name_plural = _("classification schemes")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "code"], name="scheme_unique_code"),
            models.UniqueConstraint(fields=["municipality"], condition=Q(is_active=True),
                                    name="scheme_one_active_per_municipality"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("assets:scheme_detail", args=[self.pk])


class ClassificationLevel(AuditedModel):
    """One ordered level of one axis of a scheme (e.g. 機密性 3A). Higher ``rank`` = more demanding."""

    scheme = models.ForeignKey(ClassificationScheme, verbose_name=_("classification scheme"),
                               on_delete=models.CASCADE, related_name="levels")
    axis = models.CharField(_("axis"), max_length=20, choices=Axis.choices)
    code = models.CharField(_("code"), max_length=10)
    label = models.CharField(_("label"), max_length=60)
    definition = models.TextField(_("definition"), blank=True)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("Higher is more demanding."))
    # The old scheme's equivalent level "3" for 3A/3B/3C: checks written against "3" keep working.
    base_code = models.CharField(_("base level"), max_length=10, blank=True)

    scope_path = "scheme__municipality"
    municipality_wide_view = True
    role_actions = CITY_REFERENCE_ACTIONS

    class Meta:
        ordering = ["scheme", "axis", "-rank"]
        verbose_name = _("classification level")
        verbose_name_plural = _("classification levels")
        constraints = [
            models.UniqueConstraint(fields=["scheme", "axis", "code"], name="level_unique_code"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def family(self) -> str:
        """The level's base code: "3" for 3A/3B/3C, otherwise its own code."""
        return self.base_code or self.code


class HandlingRule(AuditedModel):
    """A handling restriction (取扱制限) that applies to one level, under one heading."""

    level = models.ForeignKey(ClassificationLevel, verbose_name=_("classification level"),
                              on_delete=models.CASCADE, related_name="handling_rules")
    aspect = models.CharField(_("heading"), max_length=20, choices=HandlingAspect.choices)
    text = models.TextField(_("restriction"))

    scope_path = "level__scheme__municipality"
    municipality_wide_view = True
    role_actions = CITY_REFERENCE_ACTIONS

    class Meta:
        ordering = ["level", "aspect"]
        verbose_name = _("handling restriction")
        verbose_name_plural = _("handling restrictions")
        constraints = [models.UniqueConstraint(fields=["level", "aspect"], name="handling_unique_aspect")]

    def __str__(self) -> str:
        return f"{self.level} / {self.get_aspect_display()}"


class InformationAsset(AuditedModel):
    """An entry of the register (情報資産台帳)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.PROTECT,
                                     related_name="+", editable=False)
    number = models.CharField(_("register number"), max_length=20)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=AssetKind.choices, default=AssetKind.INFORMATION)
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("owning section"), on_delete=models.PROTECT,
                                 related_name="assets")
    manager = models.ForeignKey(Person, verbose_name=_("manager"), null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="managed_assets")
    system_name = models.CharField(_("related information system"), max_length=200, blank=True)
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices, default=Tier.LGWAN)
    storage_location = models.CharField(_("storage location"), max_length=200, blank=True)
    medium = models.CharField(_("medium"), max_length=100, blank=True)
    has_personal_info = models.BooleanField(_("personal information"), default=False)
    has_my_number = models.BooleanField(_("specific personal information (My Number)"), default=False)
    confidentiality = models.ForeignKey(ClassificationLevel, verbose_name=_("confidentiality"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+")
    integrity = models.ForeignKey(ClassificationLevel, verbose_name=_("integrity"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    availability = models.ForeignKey(ClassificationLevel, verbose_name=_("availability"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="+")
    retention = models.CharField(_("retention period"), max_length=50, blank=True)
    disposal_method = models.CharField(_("disposal method"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=AssetStatus.choices, default=AssetStatus.IN_USE,
                              db_index=True)
    disposed_on = models.DateField(_("disposed on"), null=True, blank=True)
    disposal_record = models.TextField(_("disposal record"), blank=True)
    last_inventory_on = models.DateField(_("last inventory"), null=True, blank=True)
    tags = models.CharField(_("tags"), max_length=200, blank=True, help_text=_("Separated by commas."))
    search_text = models.TextField(editable=False, default="")
    search_grams = models.TextField(editable=False, default="")  # the search index's words (assets/search.py)
    # PostgreSQL also keeps to_tsvector of search_grams in the generated column search_vector (migration 0008),
    # which is no field of this model: altering search_grams there means dropping and re-adding that column.

    audit_exclude = AuditedModel.audit_exclude | {"search_text", "search_grams"}
    municipality_field = "municipality"  # lets a city-wide grant filter on the (municipality, number) index
    AXES: ClassVar[tuple[str, ...]] = ("confidentiality", "integrity", "availability")

    class Meta:
        ordering = ["number"]
        verbose_name = _("information asset")
        verbose_name_plural = _("information assets")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "number"], name="asset_unique_number"),
        ]
        indexes = [
            models.Index(fields=["number"], name="asset_number"),  # the register's default order
            models.Index(fields=["org_unit", "number"], name="asset_unit_number"),
            # A tier filter in the register's order (e.g. the LGWAN tier's assets, searched, first 50 by number).
            models.Index(fields=["municipality", "tier", "number"], name="asset_city_tier_number"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("assets:asset_detail", args=[self.pk])

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.refresh_search()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        errors: dict[str, Any] = {}
        if self.org_unit_id:
            root_id = self.org_unit.root_id
            if self.municipality_id and self.municipality_id != root_id:
                errors["org_unit"] = _("The section belongs to another municipality.")
            self.municipality_id = root_id
        for axis in self.AXES:
            level = getattr(self, axis)
            if level is not None and level.axis != axis:
                errors[axis] = _("This level belongs to another axis.")
            elif level is not None and self.municipality_id and level.scheme.municipality_id != self.municipality_id:
                errors[axis] = _("This level belongs to another municipality's scheme.")
        if self.status == AssetStatus.DISPOSED and not self.disposed_on:
            errors["disposed_on"] = _("Enter the date of disposal.")
        if self.has_my_number and not self.has_personal_info:
            self.has_personal_info = True  # My Number information is personal information too
        if errors:
            raise ValidationError(errors)

    SEARCH_FIELDS: ClassVar[tuple[str, ...]] = ("search_text", "search_grams")

    def refresh_search(self) -> None:
        """Set the normalised search text and its index words from the searchable fields (before saving)."""
        from mamoru.assets.search import grams

        self.search_text = normalize(" ".join((self.number, self.name, self.description, self.tags,
                                               self.system_name)))
        self.search_grams = grams(self.search_text)

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]

    def effective_rules(self) -> list[HandlingRule]:
        """The handling restrictions that apply: those of each of the asset's levels and of every lower
        level of the same axis (a 機密性3 asset is handled at least as carefully as 機密性2), each text once."""
        rules: list[HandlingRule] = []
        seen: set[tuple[str, str]] = set()
        for axis in self.AXES:
            level = getattr(self, axis)
            if level is None:
                continue
            for rule in (HandlingRule.objects.filter(level__scheme_id=level.scheme_id, level__axis=axis,
                                                     level__rank__lte=level.rank)
                         .select_related("level").order_by("aspect", "-level__rank")):
                if (rule.aspect, rule.text) not in seen:
                    seen.add((rule.aspect, rule.text))
                    rules.append(rule)
        return rules


class InventoryCampaign(AuditedModel):
    """The yearly inventory (棚卸し) of a municipality's register for one fiscal year (April–March)."""

    municipality = models.ForeignKey(OrgUnit, verbose_name=_("municipality"), on_delete=models.PROTECT,
                                     related_name="inventory_campaigns")
    fiscal_year = models.PositiveSmallIntegerField(_("fiscal year"))
    due_on = models.DateField(_("due date"))
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    scope_path = "municipality"
    municipality_wide_view = True
    role_actions = CITY_REFERENCE_ACTIONS

    class Meta:
        ordering = ["municipality", "-fiscal_year"]
        verbose_name = _("inventory campaign")
        verbose_name_plural = _("inventory campaigns")
        constraints = [models.UniqueConstraint(fields=["municipality", "fiscal_year"], name="inventory_one_per_year")]

    def __str__(self) -> str:
        return _("Inventory FY%(year)s") % {"year": self.fiscal_year}

    def get_absolute_url(self) -> str:
        return reverse("inventory:campaign_detail", args=[self.pk])


class InventoryConfirmation(AuditedModel):
    """One section's confirmation of its part of the register in a campaign."""

    campaign = models.ForeignKey(InventoryCampaign, verbose_name=_("inventory campaign"), on_delete=models.CASCADE,
                                 related_name="confirmations")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("section"), on_delete=models.PROTECT,
                                 related_name="inventory_confirmations")
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(Person, verbose_name=_("confirmed by"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    asset_count = models.PositiveIntegerField(_("assets confirmed"), default=0)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["campaign", "org_unit__path"]
        verbose_name = _("inventory confirmation")
        verbose_name_plural = _("inventory confirmations")
        constraints = [models.UniqueConstraint(fields=["campaign", "org_unit"], name="inventory_one_per_section")]

    def __str__(self) -> str:
        return f"{self.campaign} — {self.org_unit}"
