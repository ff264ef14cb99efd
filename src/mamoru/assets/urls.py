"""Asset register routes (pages). Declared in tests/authz/routes.py like every route."""

from django.urls import path

from mamoru.assets import views

app_name = "assets"
urlpatterns = [
    path("", views.asset_list, name="asset_list"),
    path("<int:pk>/", views.asset_detail, name="asset_detail"),
    path("schemes/<int:pk>/", views.scheme_detail, name="scheme_detail"),
]
