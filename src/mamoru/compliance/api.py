"""REST API of the compliance app: findings of the policy checks (read-only)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from mamoru.api_common import RestrictedReadOnlyModelViewSet
from mamoru.compliance.filtersets import FindingFilterSet
from mamoru.compliance.models import Finding


class FindingSerializer(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["id", "code", "clause", "severity", "status", "org_unit", "object_type", "object_id",
                  "object_repr", "message", "first_seen", "last_seen", "resolved_at", "accepted_reason",
                  "created_at", "updated_at"]
        read_only_fields = fields


class FindingViewSet(RestrictedReadOnlyModelViewSet):
    """Findings of the policy checks in the caller's scope. They are produced by `mamoru check`."""

    queryset = Finding.objects.select_related("org_unit")
    serializer_class = FindingSerializer
    filterset_class = FindingFilterSet


def register(router: Any) -> None:
    """Register the compliance viewsets."""
    router.register("findings", FindingViewSet, basename="finding")
