"""Which tier each kind of system belongs in, per deployment model (domain.md §4; MIC guideline).

α: business terminals and groupware in the LGWAN tier, the internet reached by screen transfer or a
virtual browser. β: terminals and groupware moved to the internet tier. β': business systems may follow.
α' (2024): LGWAN-based like α, specific cloud services reached by local breakout.
"""

from __future__ import annotations

from mamoru.network.choices import DeploymentModel, SystemKind, ZoneTier

M, L, I = ZoneTier.MYNUMBER, ZoneTier.LGWAN, ZoneTier.INTERNET  # noqa: E741

EXPECTED_TIERS: dict[str, dict[str, frozenset[str]]] = {
    DeploymentModel.ALPHA: {SystemKind.MY_NUMBER: frozenset({M}), SystemKind.BUSINESS: frozenset({L}),
                            SystemKind.GROUPWARE: frozenset({L}), SystemKind.INTERNET_MAIL: frozenset({I}),
                            SystemKind.WEB: frozenset({I})},
    DeploymentModel.ALPHA_PRIME: {SystemKind.MY_NUMBER: frozenset({M}), SystemKind.BUSINESS: frozenset({L}),
                                  SystemKind.GROUPWARE: frozenset({L}), SystemKind.INTERNET_MAIL: frozenset({I}),
                                  SystemKind.WEB: frozenset({I})},
    DeploymentModel.BETA: {SystemKind.MY_NUMBER: frozenset({M}), SystemKind.BUSINESS: frozenset({L}),
                           SystemKind.GROUPWARE: frozenset({I}), SystemKind.INTERNET_MAIL: frozenset({I}),
                           SystemKind.WEB: frozenset({I})},
    DeploymentModel.BETA_PRIME: {SystemKind.MY_NUMBER: frozenset({M}), SystemKind.BUSINESS: frozenset({L, I}),
                                 SystemKind.GROUPWARE: frozenset({I}), SystemKind.INTERNET_MAIL: frozenset({I}),
                                 SystemKind.WEB: frozenset({I})},
}


def expected_tiers(model: str, kind: str) -> frozenset[str] | None:
    """The tiers a system of ``kind`` may be in under ``model``; None when the model says nothing."""
    return EXPECTED_TIERS.get(model, {}).get(kind)
