"""REST API of the asset register: assets (no deletion: assets are disposed), export, classification schemes
and levels (read-only).

The list uses the register's one filterset (:class:`InformationAssetFilterSet`), given the caller so its
choices are limited to what the caller may see.
"""

from __future__ import annotations

import re
from typing import Any

import django_filters as df
from django.db import transaction
from django.db.models import Q
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, renderers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied

from mamoru.api_common import CleanModelSerializer, RestrictedReadOnlyModelViewSet, RestrictedWriteMixin
from mamoru.assets.choices import Axis
from mamoru.assets.filtersets import InformationAssetFilterSet
from mamoru.assets.models import ClassificationLevel, ClassificationScheme, InformationAsset
from mamoru.assets.services import asset_number_next
from mamoru.core import audit, roles
from mamoru.core.access import may, user_municipality_ids
from mamoru.core.choices import AuditEvent
from mamoru.core.filtersets import IdFilter
from mamoru.core.models import OrgUnit

TIMESTAMPS = ("created_at", "updated_at")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EXPORT_FORMATS = {"csv": "text/csv; charset=utf-8",
                  "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class UserFilterBackend(DjangoFilterBackend):
    """Hands the caller to the filterset (``user=``), which limits its choices to what the caller may view."""

    def get_filterset_kwargs(self, request: Any, queryset: Any, view: Any) -> dict[str, Any]:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and issubclass(filterset_class, InformationAssetFilterSet):
            kwargs["user"] = request.user
        return kwargs


# --- serializers ----------------------------------------------------------------------------------

class OwnCityUnitField(serializers.PrimaryKeyRelatedField):
    """A unit of the caller's own municipality. Placement rights are checked by the viewset, so a section
    of the caller's city where they may not add gets a 403 that says so; other cities' units "do not exist"."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        if request is None or not request.user.is_authenticated:
            return OrgUnit.objects.none()
        if request.user.is_superuser:
            return OrgUnit.objects.all()
        roots = user_municipality_ids(request.user)
        q = Q(pk__in=roots)
        for root in roots:
            q |= Q(path__startswith=f"/{root}/")
        return OrgUnit.objects.filter(q)


class InformationAssetSerializer(CleanModelSerializer):
    org_unit = OwnCityUnitField(help_text="Owning section (id); you must be allowed to add assets there.")

    class Meta:
        model = InformationAsset
        fields = ["id", "number", "municipality", "name", "description", "kind", "org_unit", "manager",
                  "system_name", "tier", "storage_location", "medium", "has_personal_info", "has_my_number",
                  "confidentiality", "integrity", "availability", "retention", "disposal_method", "status",
                  "disposed_on", "disposal_record", "last_inventory_on", "tags", *TIMESTAMPS]
        read_only_fields = ["municipality", *TIMESTAMPS]
        extra_kwargs = {
            "number": {"required": False, "allow_blank": True,
                       "help_text": "Register number, e.g. A-000123; the next free number when omitted."},
            "confidentiality": {"help_text": "Level id (axis confidentiality) of the active scheme."},
            "integrity": {"help_text": "Level id (axis integrity) of the active scheme."},
            "availability": {"help_text": "Level id (axis availability) of the active scheme."},
        }
        validators: list[Any] = []  # the model's constraints are checked by full_clean()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, list[str]] = {}
        for name, value in attrs.items():
            if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
                # they cannot be written to an Excel sheet (export) and are never meant in a register
                errors[name] = [_("Remove the control characters from this text.")]
        for axis in InformationAsset.AXES:
            level = attrs.get(axis)
            if level is None:
                continue
            if level.axis != axis:
                errors[axis] = [_("This level belongs to another axis.")]
            elif not level.scheme.is_active:
                errors[axis] = [_("Choose a level of the active classification scheme.")]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ClassificationSchemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassificationScheme
        fields = ["id", "municipality", "code", "name", "description", "is_active", *TIMESTAMPS]
        read_only_fields = fields


class ClassificationLevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClassificationLevel
        fields = ["id", "scheme", "axis", "code", "label", "definition", "rank", "base_code", *TIMESTAMPS]
        read_only_fields = fields


class ClassificationLevelFilterSet(df.FilterSet):
    scheme = IdFilter(field_name="scheme_id", label="scheme id")
    axis = df.ChoiceFilter(choices=Axis.choices)
    active = df.BooleanFilter(field_name="scheme__is_active", label="of the active scheme")

    class Meta:
        model = ClassificationLevel
        fields = ["scheme", "axis", "active"]


# --- export renderers: the file itself, or the error as JSON --------------------------------------

class _FileRenderer(renderers.BaseRenderer):
    charset = None

    def render(self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None) -> bytes:
        if isinstance(data, bytes | bytearray):
            return bytes(data)
        return renderers.JSONRenderer().render(data)


class CsvRenderer(_FileRenderer):
    media_type = "text/csv"
    format = "csv"


class XlsxRenderer(_FileRenderer):
    media_type = EXPORT_FORMATS["xlsx"]
    format = "xlsx"


# --- viewsets -------------------------------------------------------------------------------------

class InformationAssetViewSet(RestrictedWriteMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin,
                              mixins.UpdateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The information asset register (情報資産台帳) in the caller's scope. Assets are not deleted: set
    ``status`` to ``disposed`` with the disposal date and record."""

    queryset = InformationAsset.objects.select_related("org_unit", "manager", "confidentiality", "integrity",
                                                       "availability")
    serializer_class = InformationAssetSerializer
    filterset_class = InformationAssetFilterSet
    filter_backends = [UserFilterBackend]
    # no DELETE: an asset is disposed (status, date and record), never deleted
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def permission_action(self) -> str:
        return roles.EXPORT if self.action == "export" else super().permission_action()

    def perform_create(self, serializer: Any) -> None:
        unit = serializer.validated_data.get("org_unit")
        self.check_target_unit(unit)
        extra: dict[str, Any] = {}
        if unit is not None:
            extra["municipality_id"] = unit.root_id
            if not serializer.validated_data.get("number"):
                extra["number"] = asset_number_next(extra["municipality_id"])
        with transaction.atomic():
            serializer.save(**extra)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(EXPORT_FORMATS), required=True,
                                     description="File format of the export.")],
        responses={(200, "text/csv"): OpenApiTypes.BINARY, (200, EXPORT_FORMATS["xlsx"]): OpenApiTypes.BINARY,
                   403: OpenApiResponse(description="The caller may not export the register.")})
    @action(detail=False, methods=["get"], renderer_classes=[CsvRenderer, XlsxRenderer, renderers.JSONRenderer],
            pagination_class=None)
    def export(self, request: Any) -> HttpResponse | StreamingHttpResponse:
        """The current filter's assets as a CSV (UTF-8 with BOM) or XLSX file; recorded in the audit trail."""
        fmt = request.query_params.get("format", "")
        if fmt not in EXPORT_FORMATS:
            raise serializers.ValidationError({"format": [_("Choose csv or xlsx.")]})
        if not may(request.user, roles.EXPORT, InformationAsset):
            raise PermissionDenied(_("You may not export %(things)s.")
                                   % {"things": InformationAsset._meta.verbose_name_plural})
        from mamoru.assets.exporter import assets_export  # written alongside; imported when used

        queryset = self.filter_queryset(self.get_queryset())
        content = assets_export(queryset=queryset, fmt=fmt)
        audit.event(AuditEvent.EXPORT, object_type="assets.informationasset",
                    object_repr=_("Information asset register (%(fmt)s)") % {"fmt": fmt.upper()},
                    details={"format": fmt, "filters": {k: v for k, v in request.query_params.items()
                                                        if v and k != "format"}})
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        response: HttpResponse | StreamingHttpResponse
        if isinstance(content, bytes | bytearray):
            response = HttpResponse(content, content_type=EXPORT_FORMATS[fmt])
        else:
            response = StreamingHttpResponse(content, content_type=EXPORT_FORMATS[fmt])
        response["Content-Disposition"] = f'attachment; filename="assets-{stamp}.{fmt}"'
        return response


class ClassificationSchemeViewSet(RestrictedReadOnlyModelViewSet):
    """Classification schemes of the caller's municipality (one is active). Read-only here."""

    queryset = ClassificationScheme.objects.all()
    serializer_class = ClassificationSchemeSerializer


class ClassificationLevelViewSet(RestrictedReadOnlyModelViewSet):
    """The ordered levels of each axis of the schemes (higher ``rank`` is more demanding). Read-only here."""

    queryset = ClassificationLevel.objects.select_related("scheme")
    serializer_class = ClassificationLevelSerializer
    filterset_class = ClassificationLevelFilterSet


def register(router: Any) -> None:
    """Register the asset viewsets."""
    router.register("assets", InformationAssetViewSet, basename="asset")
    router.register("classification-schemes", ClassificationSchemeViewSet, basename="classificationscheme")
    router.register("classification-levels", ClassificationLevelViewSet, basename="classificationlevel")
