"""REST API of the core app: org units, people, roles, role assignments, audit trail, own API tokens."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from mamoru.api_common import (
    AuditedGenericViewSet,
    CleanModelSerializer,
    RestrictedModelViewSet,
    RestrictedReadOnlyModelViewSet,
)
from mamoru.core import roles, services_tokens
from mamoru.core.filtersets import AuditEntryFilterSet, OrgUnitFilterSet, PersonFilterSet, RoleAssignmentFilterSet
from mamoru.core.models import ApiToken, AuditEntry, OrgUnit, Person, Role, RoleAssignment

TIMESTAMPS = ("created_at", "updated_at")


# --- serializers ----------------------------------------------------------------------------------

class OrgUnitSerializer(CleanModelSerializer):
    class Meta:
        model = OrgUnit
        fields = ["id", "parent", "code", "name", "name_kana", "kind", "scope_category", "in_scope",
                  "sort_order", "path", "depth", *TIMESTAMPS]
        read_only_fields = ["path", "depth", *TIMESTAMPS]
        validators: list[Any] = []  # the model's constraints are checked by full_clean()


class PersonSerializer(CleanModelSerializer):
    # Linking a person to a sign-in account hands it the person's roles: done by an administrator, not here.
    user = serializers.SlugRelatedField(slug_field="username", read_only=True,
                                        help_text="Sign-in account of the person (read-only).")

    class Meta:
        model = Person
        fields = ["id", "user", "org_unit", "kind", "employee_number", "full_name", "full_name_kana", "title",
                  "email", "employer", "is_active", *TIMESTAMPS]
        read_only_fields = list(TIMESTAMPS)


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "code", "name", "duty", "sort_order"]
        read_only_fields = fields


class RoleAssignmentSerializer(CleanModelSerializer):
    role = serializers.SlugRelatedField(slug_field="code", queryset=Role.objects.all(),
                                        help_text="Role code, e.g. section_manager.")

    class Meta:
        model = RoleAssignment
        fields = ["id", "person", "role", "org_unit", "covers_children", "valid_from", "valid_until", "note",
                  *TIMESTAMPS]
        read_only_fields = list(TIMESTAMPS)
        validators: list[Any] = []


class AuditEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEntry
        fields = ["seq", "timestamp", "actor_id", "actor", "source_ip", "action", "event", "object_type",
                  "object_id", "object_repr", "changes", "org_unit_id", "prev_hash", "hash"]
        read_only_fields = fields


class ApiTokenSerializer(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "key_prefix", "created_at", "last_used_at", "expires_at", "revoked_at", "status"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=services_tokens.TokenStatus.choices))
    def get_status(self, obj: ApiToken) -> str:
        return services_tokens.token_status(obj).value


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="What the token is for, e.g. the script using it.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True,
                                           help_text="When the token stops working; omit for no expiry.")


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True,
                                  help_text="The token in clear text. It is shown in this response only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


# --- viewsets -------------------------------------------------------------------------------------

class OrgUnitViewSet(RestrictedModelViewSet):
    """Organisational units. Everyone reads the units in their scope; only the CISO and 統括 write."""

    queryset = OrgUnit.objects.all()
    serializer_class = OrgUnitSerializer
    filterset_class = OrgUnitFilterSet
    scope_field = "parent"  # a new unit is placed under a parent the caller administers


class PersonViewSet(RestrictedModelViewSet):
    """People: staff, contractor workers and auditors."""

    queryset = Person.objects.select_related("org_unit", "user")
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet


class RoleViewSet(RestrictedReadOnlyModelViewSet):
    """The roles of the policy (reference data)."""

    queryset = Role.objects.all()
    serializer_class = RoleSerializer


class RoleAssignmentViewSet(RestrictedModelViewSet):
    """Who holds which role on which unit, and whether it covers the sub-units."""

    queryset = RoleAssignment.objects.select_related("person", "role", "org_unit")
    serializer_class = RoleAssignmentSerializer
    filterset_class = RoleAssignmentFilterSet


class AuditEntryViewSet(RestrictedReadOnlyModelViewSet):
    """The audit trail (CISO, 統括 and auditors, within their scope). Append-only: no writes here."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    lookup_field = "seq"


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
                      AuditedGenericViewSet):
    """The caller's own API tokens. Creating one returns its clear text once; deleting one revokes it."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    filter_backends: list[Any] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        user = self.request.user
        # Personal: even a superuser's list holds only their own tokens.
        return ApiToken.objects.restrict(user, roles.VIEW).filter(user=user)

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        data = ApiTokenCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        expires_at = data.validated_data.get("expires_at")
        caller = request.auth if isinstance(request.auth, ApiToken) else None
        if caller is not None and caller.expires_at is not None and (
                expires_at is None or expires_at > caller.expires_at):
            # A token must not mint one that outlives it (a leaked short-lived token stays short-lived).
            raise serializers.ValidationError({"expires_at": [_(
                "A token created with an expiring token must expire no later than it (%(when)s)."
            ) % {"when": caller.expires_at.isoformat()}]})
        try:
            token, raw = services_tokens.token_create(user=request.user, name=data.validated_data["name"],
                                                      expires_at=expires_at, actor=request.user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(serializers.as_serializer_error(exc)) from exc
        out = ApiTokenCreatedSerializer(token, context=self.get_serializer_context()).data
        out["token"] = raw
        return Response(out, status=status.HTTP_201_CREATED)

    @extend_schema(responses={204: OpenApiResponse(description="Revoked (or already revoked).")})
    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        token = self.get_object()
        services_tokens.token_revoke(token=token, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router: Any) -> None:
    """Register the core viewsets."""
    router.register("org-units", OrgUnitViewSet, basename="orgunit")
    router.register("people", PersonViewSet, basename="person")
    router.register("roles", RoleViewSet, basename="role")
    router.register("role-assignments", RoleAssignmentViewSet, basename="roleassignment")
    router.register("audit-entries", AuditEntryViewSet, basename="auditentry")
    router.register("tokens", ApiTokenViewSet, basename="apitoken")
