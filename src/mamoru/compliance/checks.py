"""Policy checks of the compliance app itself (registered through :mod:`mamoru.compliance.registry`).

None yet: the checks of the policy live with the data they read (``core/checks.py`` for 組織体制,
and each app's own ``checks.py``). This module is imported from ``ComplianceConfig.ready()``.
"""
