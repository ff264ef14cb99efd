"""Policy library routes. Declared in tests/authz/routes.py like every route."""

from django.urls import include, path

from mamoru.policy import views

app_name = "policy"
urlpatterns = [
    path("", views.document_list, name="document_list"),
    path("search/", views.search, name="search"),
    path("", include("mamoru.policy.urls_exceptions")),
    path("<slug:slug>/", views.document_detail, name="document_detail"),
    path("<slug:slug>/draft/", views.version_draft, name="version_draft"),
    path("<slug:slug>/diff/", views.version_diff, name="version_diff"),
    path("<slug:slug>/v<int:number>/", views.version_detail, name="version_detail"),
    path("<slug:slug>/v<int:number>/pdf/", views.version_pdf, name="version_pdf"),
    path("<slug:slug>/v<int:number>/submit/", views.version_submit, name="version_submit"),
    path("<slug:slug>/v<int:number>/return/", views.version_return, name="version_return"),
    path("<slug:slug>/v<int:number>/approve/", views.version_approve, name="version_approve"),
    path("<slug:slug>/v<int:number>/publish/", views.version_publish, name="version_publish"),
    path("<slug:slug>/v<int:number>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<slug:slug>/v<int:number>/clauses/<int:pk>/", views.clause_edit, name="clause_edit"),
]
