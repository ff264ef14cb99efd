"""Ruleset parsers: text in one of :data:`FORMATS`, a :class:`~mamoru.netcheck.model.Ruleset` out."""

from __future__ import annotations

from mamoru.netcheck.model import Ruleset

from .csv_policy import parse_csv_policy
from .iptables import parse_iptables

__all__ = ["FORMATS", "parse_csv_policy", "parse_iptables", "parse_ruleset"]

FORMATS = ("iptables", "nftables", "csv")


def parse_ruleset(text: str, *, format: str, source: str) -> Ruleset:
    """Parse ``text`` as ``format`` (one of :data:`FORMATS`); ``source`` names the file in origins and errors.

    Raises :class:`~mamoru.netcheck.model.ParseError` for unreadable input and ValueError for an unknown format.
    """
    if format == "iptables":
        return parse_iptables(text, source=source)
    if format == "csv":
        return parse_csv_policy(text, source=source)
    if format == "nftables":
        from .nftables import parse_nftables_json  # written separately; imported only when needed

        return parse_nftables_json(text, source=source)
    raise ValueError(f"unknown ruleset format {format!r} (expected one of: {', '.join(FORMATS)})")
