"""Root URL configuration. Every route here is covered by tests/authz (the authorization matrix)."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

urlpatterns = [
    path("", include("mamoru.core.urls")),
    path("compliance/", include("mamoru.compliance.urls")),
    path("assets/inventory/", include("mamoru.assets.urls_inventory")),
    path("assets/", include("mamoru.assets.urls")),
    path("policy/", include("mamoru.policy.urls")),
    path("network/", include("mamoru.network.urls")),
    path("quarantine/", include("mamoru.quarantine.urls")),
    path("inspection/", include("mamoru.inspection.urls")),
    path("api/", include("mamoru.api_urls")),
    path("admin/", admin.site.urls),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
]
