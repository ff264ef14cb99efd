"""Self-inspection and audit routes. Declared in tests/authz/routes.py like every route."""

from django.urls import path

from mamoru.inspection import views, views_audit

app_name = "inspection"
urlpatterns = [
    path("", views.home, name="home"),
    path("templates/", views.template_list, name="template_list"),
    path("templates/generate/", views.template_generate, name="template_generate"),
    path("templates/<int:pk>/", views.template_detail, name="template_detail"),
    path("templates/<int:pk>/questions/new/", views.question_create, name="question_create"),
    path("questions/<int:pk>/", views.question_edit, name="question_edit"),
    path("campaigns/new/", views.campaign_create, name="campaign_create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign_detail"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("campaigns/<int:pk>/results/", views.results, name="results"),
    path("campaigns/<int:pk>/results.xlsx", views.results_xlsx, name="results_xlsx"),
    path("campaigns/<int:pk>/results.pdf", views.results_pdf, name="results_pdf"),
    path("assignments/<int:pk>/", views.assignment_detail, name="assignment_detail"),
    path("assignments/<int:pk>/reopen/", views.assignment_reopen, name="assignment_reopen"),
    path("evidence/<int:pk>/", views.evidence_download, name="evidence_download"),
    path("evidence/<int:pk>/delete/", views.evidence_delete, name="evidence_delete"),
    path("audit/", views_audit.plan_list, name="plan_list"),
    path("audit/plans/new/", views_audit.plan_create, name="plan_create"),
    path("audit/plans/<int:pk>/", views_audit.plan_detail, name="plan_detail"),
    path("audit/plans/<int:pk>/approve/", views_audit.plan_approve, name="plan_approve"),
    path("audit/plans/<int:pk>/engagements/new/", views_audit.engagement_create, name="engagement_create"),
    path("audit/engagements/<int:pk>/", views_audit.engagement_detail, name="engagement_detail"),
    path("audit/engagements/<int:pk>/edit/", views_audit.engagement_edit, name="engagement_edit"),
    path("audit/engagements/<int:pk>/advance/", views_audit.engagement_advance, name="engagement_advance"),
    path("audit/engagements/<int:pk>/notes/", views_audit.note_add, name="note_add"),
    path("audit/engagements/<int:pk>/findings/", views_audit.finding_add, name="finding_add"),
    path("audit/engagements/<int:pk>/report.pdf", views_audit.engagement_pdf, name="engagement_pdf"),
    path("audit/findings/", views_audit.finding_list, name="finding_list"),
    path("audit/findings/<int:pk>/", views_audit.finding_detail, name="finding_detail"),
    path("audit/findings/<int:pk>/actions/", views_audit.action_add, name="action_add"),
    path("audit/actions/<int:pk>/progress/", views_audit.action_progress, name="action_progress"),
    path("audit/actions/<int:pk>/follow-up/", views_audit.action_follow_up, name="action_follow_up"),
]
