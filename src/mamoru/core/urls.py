from django.urls import path

from mamoru.core import views, views_auth, views_org, views_tokens

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    # sign-in, MFA, password, tokens (views_auth)
    path("accounts/login/", views_auth.LoginView.as_view(), name="login"),
    path("accounts/logout/", views_auth.logout_view, name="logout"),
    path("accounts/mfa/verify/", views_auth.mfa_verify, name="mfa_verify"),
    path("accounts/mfa/enrol/", views_auth.mfa_enrol, name="mfa_enrol"),
    path("accounts/mfa/qr.svg", views_auth.mfa_qr, name="mfa_qr"),
    path("accounts/mfa/recovery/", views_auth.mfa_recovery, name="mfa_recovery"),
    path("account/security/", views_auth.account_security, name="account_security"),
    path("account/security/recovery-codes/", views_auth.recovery_codes_regenerate, name="recovery_codes_regenerate"),
    path("accounts/password/", views_auth.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", views_tokens.token_list, name="token_list"),
    path("account/tokens/<int:pk>/revoke/", views_tokens.token_revoke, name="token_revoke"),
    # organisation
    path("org/", views.orgunit_list, name="orgunit_list"),
    path("org/new/", views_org.orgunit_create, name="orgunit_create"),
    path("org/<int:pk>/", views.orgunit_detail, name="orgunit_detail"),
    path("org/<int:pk>/edit/", views_org.orgunit_edit, name="orgunit_edit"),
    path("people/", views.person_list, name="person_list"),
    path("people/new/", views_org.person_create, name="person_create"),
    path("people/<int:pk>/", views.person_detail, name="person_detail"),
    path("people/<int:pk>/edit/", views_org.person_edit, name="person_edit"),
    path("people/<int:pk>/mfa-reset/", views_auth.mfa_reset, name="mfa_reset"),
    path("roles/", views.assignment_list, name="assignment_list"),
    path("roles/new/", views_org.assignment_create, name="assignment_create"),
    path("roles/<int:pk>/edit/", views_org.assignment_edit, name="assignment_edit"),
    # audit trail
    path("audit/", views.audit_list, name="audit_list"),
    path("audit/export.csv", views.audit_export, name="audit_export"),
]
