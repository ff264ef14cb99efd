"""Asset register routes (pages). Declared in tests/authz/routes.py like every route."""

from django.urls import path

from mamoru.assets import views, views_import

app_name = "assets"
urlpatterns = [
    path("", views.asset_list, name="asset_list"),
    path("export/", views.asset_export, name="asset_export"),
    path("import/", views_import.asset_import_page, name="asset_import"),
    path("import/template.xlsx", views_import.asset_import_template, name="asset_import_template"),
    path("bulk-edit/form/", views.asset_bulk_form, name="asset_bulk_form"),
    path("bulk-edit/", views.asset_bulk_edit, name="asset_bulk_edit"),
    path("new/", views.asset_create, name="asset_create"),
    path("<int:pk>/", views.asset_detail, name="asset_detail"),
    path("<int:pk>/edit/", views.asset_edit, name="asset_edit"),
    path("<int:pk>/dispose/", views.asset_dispose, name="asset_dispose"),
    path("<int:pk>/label/", views.asset_label, name="asset_label"),
    path("schemes/", views.scheme_list, name="scheme_list"),
    path("schemes/switch/", views.scheme_switch, name="scheme_switch"),
    path("schemes/<int:pk>/", views.scheme_detail, name="scheme_detail"),
    path("levels/<int:pk>/handling/", views.handling_edit, name="handling_edit"),
]
