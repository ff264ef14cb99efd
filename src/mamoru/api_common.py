"""Shared base of every REST API viewset and serializer (architecture rules 1, 3 and 4).

* Every queryset goes through ``Model.objects.restrict(request.user, action)``; the action follows the
  viewset action (list/retrieve → view, create → add, update → change, destroy → delete). An object the
  caller may not even view is a 404, never a 403, so the API does not tell whether it exists.
* A new object (or one moved to another unit) must land in a unit from
  :func:`mamoru.core.access.units_for` — otherwise 403 with a message that says so.
* Every write runs the model's ``full_clean()`` inside ``transaction.atomic`` and is audited by the
  model signals. Token authentication happens after the middleware has captured the (anonymous) user,
  so the viewset re-binds :data:`mamoru.core.context.current_actor` to the authenticated caller for the
  rest of the request.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Model, ProtectedError, RestrictedError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.settings import api_settings

from mamoru.core import roles
from mamoru.core.access import may, record_denied, units_for
from mamoru.core.context import Actor, current_actor
from mamoru.core.middleware import client_ip

# viewset action → permission action of the restricted queryset
ACTION_PERMISSIONS: dict[str | None, str] = {
    "list": roles.VIEW,
    "retrieve": roles.VIEW,
    "metadata": roles.VIEW,
    None: roles.VIEW,
    "create": roles.ADD,
    "update": roles.CHANGE,
    "partial_update": roles.CHANGE,
    "destroy": roles.DELETE,
}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The object is still in use.")
    default_code = "conflict"


CONFLICT_RESPONSE = OpenApiResponse(description="The object is still referred to by others; nothing was deleted.")


# --- serializers ----------------------------------------------------------------------------------

class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """A foreign key by id that accepts only objects the caller may view (others: "does not exist")."""

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        request = self.context.get("request")
        if request is None or not hasattr(qs, "restrict"):
            return qs.none()
        return qs.restrict(request.user, roles.VIEW)


class CleanModelSerializer(serializers.ModelSerializer):
    """A ModelSerializer whose writes run the model's ``full_clean()`` and report its errors as 400."""

    serializer_related_field = VisibleRelatedField

    def create(self, validated_data: dict[str, Any]) -> Any:
        instance = self.Meta.model(**validated_data)
        self._clean(instance)
        instance.save()
        return instance

    def update(self, instance: Any, validated_data: dict[str, Any]) -> Any:
        for attr, value in validated_data.items():
            setattr(instance, attr, value)
        self._clean(instance)
        instance.save()
        return instance

    @staticmethod
    def _clean(instance: Model) -> None:
        try:
            instance.full_clean()
        except DjangoValidationError as exc:
            detail = serializers.as_serializer_error(exc)
            if "__all__" in detail:
                detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop("__all__")
            raise serializers.ValidationError(detail) from exc


# --- viewsets ---------------------------------------------------------------------------------------

class AuditActorMixin:
    """Binds the audit trail's current actor to the API caller (token or session) for the request."""

    _actor_reset: Any = None

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # type: ignore[misc]  # authenticates; may raise 401/403
        self._actor_reset = current_actor.set(Actor(user=request.user, source_ip=client_ip(request)))

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]
        self._reset_actor()
        return response

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]
        finally:
            self._reset_actor()  # also when an unhandled exception skipped finalize_response

    def _reset_actor(self) -> None:
        if self._actor_reset is not None:
            current_actor.reset(self._actor_reset)
            self._actor_reset = None


class RestrictedViewSetMixin(AuditActorMixin):
    """Querysets restricted per action; 404 outside what the caller may view."""

    queryset: Any
    request: Any
    action: str | None

    @property
    def model(self) -> type[Model]:
        return self.queryset.model  # type: ignore[no-any-return]

    def permission_action(self) -> str:
        return ACTION_PERMISSIONS.get(self.action, roles.VIEW)

    def get_queryset(self) -> Any:
        qs = super().get_queryset()  # type: ignore[misc]
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return qs.none()
        return qs.restrict(self.request.user, self.permission_action())

    def get_object(self) -> Any:
        try:
            return super().get_object()  # type: ignore[misc]
        except Http404:
            action = self.permission_action()
            if action != roles.VIEW:
                lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)  # type: ignore[attr-defined]
                visible = self.queryset.model.objects.restrict(self.request.user, roles.VIEW)
                try:
                    seen = visible.filter(**{self.lookup_field: lookup}).exists()  # type: ignore[attr-defined]
                except (TypeError, ValueError, DjangoValidationError):
                    seen = False
                if seen:  # the caller may see it, so saying "not allowed" reveals nothing
                    record_denied(self.model, self.request.user, action, **{self.lookup_field: lookup})
                    raise PermissionDenied(
                        _("You may view this %(thing)s but not %(action)s it.")
                        % {"thing": self.model._meta.verbose_name, "action": roles.ACTION_LABELS[action]}
                    ) from None
            lookup = self.kwargs.get(self.lookup_url_kwarg or self.lookup_field)  # type: ignore[attr-defined]
            record_denied(self.model, self.request.user, action, **{self.lookup_field: lookup})
            raise


class RestrictedWriteMixin(RestrictedViewSetMixin):
    """Create, update and delete: placed only where allowed, validated by the model, atomic, audited."""

    #: name of the field that places an object in the org tree (``None``: the model has no unit)
    scope_field: str | None = "org_unit"

    def check_may_add_somewhere(self) -> None:
        if not may(self.request.user, roles.ADD, self.model):
            raise PermissionDenied(_("You may not add %(things)s.")
                                   % {"things": self.model._meta.verbose_name_plural})

    def check_target_unit(self, unit: Any) -> None:
        """``unit`` must be one where the caller may add objects of this model."""
        if unit is None:
            if self.request.user.is_superuser:
                return
            raise PermissionDenied(_("Choose a unit in which you may add %(things)s.")
                                   % {"things": self.model._meta.verbose_name_plural})
        if not units_for(self.request.user, roles.ADD, self.model).filter(pk=unit.pk).exists():
            raise PermissionDenied(_("You may not add %(things)s in %(unit)s.")
                                   % {"things": self.model._meta.verbose_name_plural, "unit": unit})

    def create(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        self.check_may_add_somewhere()  # 403 before any validation when the answer is "never"
        return super().create(request, *args, **kwargs)  # type: ignore[misc]

    def perform_create(self, serializer: Any) -> None:
        if self.scope_field is not None:
            self.check_target_unit(serializer.validated_data.get(self.scope_field))
        with transaction.atomic():
            serializer.save()

    def perform_update(self, serializer: Any) -> None:
        field = self.scope_field
        if field is not None and field in serializer.validated_data:
            new = serializer.validated_data[field]
            if new != getattr(serializer.instance, field):  # moving it: the new place must be allowed too
                self.check_target_unit(new)
        with transaction.atomic():
            serializer.save()

    def perform_destroy(self, instance: Any) -> None:
        try:
            with transaction.atomic():
                instance.delete()
        except (ProtectedError, RestrictedError) as exc:
            blocking = getattr(exc, "protected_objects", None) or getattr(exc, "restricted_objects", ())
            kinds = sorted({str(o._meta.verbose_name_plural) for o in blocking})
            raise Conflict(_("%(obj)s cannot be deleted while %(what)s refer to it; remove or move them first.")
                           % {"obj": instance, "what": ", ".join(kinds)}) from exc

    @extend_schema(responses={204: None, 409: CONFLICT_RESPONSE})
    def destroy(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().destroy(request, *args, **kwargs)  # type: ignore[misc]


class RestrictedModelViewSet(RestrictedWriteMixin, viewsets.ModelViewSet):
    """CRUD over a restricted queryset."""


class RestrictedReadOnlyModelViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """List and retrieve over a restricted queryset."""


class AuditedGenericViewSet(AuditActorMixin, viewsets.GenericViewSet):
    """For endpoints that are not plain model CRUD (they choose their own querysets)."""


# --- OpenAPI description of the authentication classes --------------------------------------------

class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mamoru.core.api_auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer",
                "description": "A personal API token: `Authorization: Bearer mmr_…` (or `Token mmr_…`)."}


class VerifiedSessionScheme(OpenApiAuthenticationExtension):
    target_class = "mamoru.core.api_auth.VerifiedSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        from django.conf import settings

        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                "description": "A signed-in browser session that has passed MFA (write requests need the "
                               "CSRF token)."}
