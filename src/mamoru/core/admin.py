"""Django admin for superusers. The audit trail is read-only here as everywhere."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from mamoru.core.models import ApiToken, AuditEntry, OrgUnit, Person, Role, RoleAssignment


@admin.register(OrgUnit)
class OrgUnitAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "kind", "scope_category", "in_scope", "path")
    list_filter = ("kind", "scope_category", "in_scope")
    search_fields = ("name", "name_kana", "code")


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ("full_name", "kind", "org_unit", "user", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("full_name", "full_name_kana", "employee_number")
    raw_id_fields = ("user", "org_unit")


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "sort_order")


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    list_display = ("person", "role", "org_unit", "covers_children", "valid_from", "valid_until")
    list_filter = ("role",)
    raw_id_fields = ("person", "org_unit")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "key_prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("key_prefix", "last_used_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("seq", "timestamp", "actor", "source_ip", "action", "event", "object_type", "object_repr")
    list_filter = ("action", "event")
    search_fields = ("actor", "object_repr", "object_id")

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
