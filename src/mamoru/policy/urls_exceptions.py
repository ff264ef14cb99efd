"""Routes of exceptions (例外措置) and document reviews (見直し); included inside the ``policy`` namespace."""

from django.urls import path

from mamoru.policy import views_exceptions as views

urlpatterns = [
    path("exceptions/", views.exception_list, name="exception_list"),
    path("exceptions/new/", views.exception_create, name="exception_create"),
    path("exceptions/<int:pk>/", views.exception_detail, name="exception_detail"),
    path("exceptions/<int:pk>/decide/", views.exception_decide, name="exception_decide"),
    path("exceptions/<int:pk>/report/", views.exception_report, name="exception_report"),
    path("exceptions/<int:pk>/close/", views.exception_close, name="exception_close"),
    path("exceptions/<int:pk>/renew/", views.exception_renew, name="exception_renew"),
    path("documents/<slug:slug>/reviews/", views.review_list, name="review_list"),
    path("documents/<slug:slug>/reviews/new/", views.review_create, name="review_create"),
]
