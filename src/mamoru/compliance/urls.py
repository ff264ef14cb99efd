from django.urls import path

from mamoru.compliance import views

app_name = "compliance"
urlpatterns = [
    path("findings/", views.finding_list, name="finding_list"),
    path("findings/<int:pk>/", views.finding_detail, name="finding_detail"),
    path("findings/<int:pk>/accept/", views.finding_accept, name="finding_accept"),
    path("run/", views.run_checks, name="run_checks"),
]
