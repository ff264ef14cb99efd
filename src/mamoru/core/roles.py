"""The roles of the policy (domain.md §2) and the permission table mapping roles to actions.

This table is the single place that says who may do what. A model can narrow it with a
``role_actions`` class attribute (e.g. only the CISO, 統括 and auditors read the audit trail).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

VIEW, ADD, CHANGE, DELETE, APPROVE, EXPORT = "view", "add", "change", "delete", "approve", "export"
ALL_ACTIONS = frozenset({VIEW, ADD, CHANGE, DELETE, APPROVE, EXPORT})


@dataclass(frozen=True)
class RoleSpec:
    code: str
    name: str
    duty: str
    actions: frozenset[str]
    requires_mfa: bool = False
    # The role is expected on the municipality root (one per city) rather than per unit.
    city_wide: bool = False


ROLES: tuple[RoleSpec, ...] = (
    RoleSpec("ciso", "最高情報セキュリティ責任者 (CISO)",
             "全ての情報資産の管理及び情報セキュリティ対策に関する最終決定権限及び責任を有する。",
             ALL_ACTIONS, requires_mfa=True, city_wide=True),
    RoleSpec("chief", "統括情報セキュリティ責任者",
             "CISOを補佐し、ネットワーク全体の情報セキュリティ対策を統括する。",
             ALL_ACTIONS, requires_mfa=True, city_wide=True),
    RoleSpec("dept_head", "情報セキュリティ責任者",
             "所管する部局の情報セキュリティ対策に関する権限及び責任を有する。",
             frozenset({VIEW, ADD, CHANGE, APPROVE, EXPORT})),
    RoleSpec("section_manager", "情報セキュリティ管理者",
             "所管する課室等の情報セキュリティ対策に関する権限及び責任を有する。",
             frozenset({VIEW, ADD, CHANGE, APPROVE, EXPORT})),
    RoleSpec("system_admin", "情報システム管理者",
             "所管する情報システムの開発、設定の変更、運用、見直し等を行う。",
             frozenset({VIEW, ADD, CHANGE, EXPORT}), requires_mfa=True),
    RoleSpec("system_operator", "情報システム担当者",
             "情報システム管理者の指示等に従い、情報システムの運用を行う。",
             frozenset({VIEW, ADD, CHANGE})),
    RoleSpec("csirt", "CSIRT",
             "情報セキュリティインシデントの窓口、対応、報告及び再発防止を行う。",
             frozenset({VIEW, EXPORT}), city_wide=True),
    RoleSpec("committee", "情報セキュリティ委員会 委員",
             "ポリシーの見直し、研修計画、監査結果及び緊急時対応を審議する。",
             frozenset({VIEW}), city_wide=True),
    RoleSpec("auditor", "監査人",
             "監査対象から独立した立場で情報セキュリティ監査を行う。",
             frozenset({VIEW, EXPORT}), requires_mfa=True),
    RoleSpec("contractor", "委託事業者",
             "委託契約の範囲で情報資産を取り扱い、ポリシー及び実施手順を遵守する。",
             frozenset({VIEW})),
)
ROLE_BY_CODE: dict[str, RoleSpec] = {r.code: r for r in ROLES}

# Staff without a role read what belongs to their own unit.
STAFF_ACTIONS = frozenset({VIEW})

# Roles that may administer the organisation itself (units, people, role assignments).
ORG_ADMIN = frozenset({"ciso", "chief"})
# Roles with an oversight duty: they read findings about their scope (staff and contractors do not).
OVERSIGHT = frozenset({"ciso", "chief", "dept_head", "section_manager", "system_admin", "csirt", "committee",
                       "auditor"})
# Roles that read the audit trail (issue 2 §5).
AUDIT_READERS = frozenset({"ciso", "chief", "auditor"})

ACTION_LABELS = {
    VIEW: _("view"), ADD: _("add"), CHANGE: _("change"), DELETE: _("delete"),
    APPROVE: _("approve"), EXPORT: _("export"),
}


def roles_allowing(action: str, overrides: dict[str, frozenset[str]] | None = None) -> frozenset[str]:
    """Role codes that may perform ``action``, after a model's overrides."""
    if overrides is not None and action in overrides:
        return overrides[action]
    return frozenset(r.code for r in ROLES if action in r.actions)
