"""REST API routes (/api/)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from mamoru.compliance.api import register as register_compliance
from mamoru.core.api import register as register_core

router = DefaultRouter()
register_core(router)
register_compliance(router)

urlpatterns = [
    path("", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
