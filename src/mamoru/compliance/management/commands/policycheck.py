"""``mamoru check``: run the policy checks and record their findings.

Exit status: 0; 1 when an open finding is at least as severe as ``--fail-on``; 2 when a check crashed
(or the command was misused). In ``--format json`` only the JSON list goes to stdout.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mamoru.compliance.choices import Severity
from mamoru.core.context import acting_as

EXIT_FINDINGS = 1
EXIT_CRASHED = 2


def _width(text: str) -> int:
    """Display width in a terminal: East Asian wide and full-width characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, ["-" * w for w in widths], *rows]:
        # The last column (the message) is not padded.
        lines.append("  ".join([_pad(c, widths[i]) for i, c in enumerate(row[:-1])] + [row[-1]]).rstrip())
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Run the policy checks, record the findings and report them (text or JSON)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--format", choices=["text", "json"], default="text", help="output format")
        parser.add_argument("--fail-on", choices=Severity.values, default=None, metavar="SEVERITY",
                            help="exit 1 if an open finding has this severity or worse "
                                 f"({', '.join(Severity.values)})")
        parser.add_argument("--code", nargs="+", action="extend", dest="codes", metavar="CODE",
                            help="run only these checks (e.g. CORE-001)")
        parser.add_argument("--municipality", metavar="CODE",
                            help="only the municipality with this root unit code")
        parser.add_argument("--no-save", action="store_true", help="report only; do not record findings")
        parser.add_argument("--list", action="store_true", help="list the registered checks and exit")

    def handle(self, *args: Any, **options: Any) -> None:
        from mamoru.compliance import registry, services
        from mamoru.core.models import OrgUnit

        if options["list"]:
            checks = registry.get_checks()
            if options["format"] == "json":
                self.stdout.write(json.dumps([{"code": c.code, "clause": c.clause, "severity": c.severity,
                                               "title": str(c.title)} for c in checks], ensure_ascii=False))
            else:
                self.stdout.write(render_table([[c.code, c.clause, c.severity, str(c.title)] for c in checks],
                                               ["code", "clause", "severity", "title"]))
            return
        municipality = None
        if options["municipality"]:
            municipality = OrgUnit.objects.filter(parent__isnull=True, code=options["municipality"]).first()
            if municipality is None:
                raise CommandError(f"no municipality with the code {options['municipality']!r}",
                                   returncode=EXIT_CRASHED)
        try:
            with acting_as(label="mamoru check"):
                result = services.checks_run(codes=options["codes"], municipality=municipality,
                                             save=not options["no_save"])
        except registry.UnknownCheck as exc:
            known = ", ".join(sorted(registry.REGISTRY))
            raise CommandError(f"unknown check code(s): {exc.args[0]} (known: {known})",
                               returncode=EXIT_CRASHED) from exc

        if options["format"] == "json":
            self.stdout.write(json.dumps([r.as_dict() for r in result.reported], ensure_ascii=False, indent=2))
        else:
            self._write_text(result)
        for error in result.errors:
            self.stderr.write(f"check {error.code} crashed: {error.error}")
            if options["verbosity"] >= 2:
                self.stderr.write(error.traceback)

        if result.errors:
            sys.exit(EXIT_CRASHED)
        if result.failing(options["fail_on"]):
            sys.exit(EXIT_FINDINGS)

    def _write_text(self, result: Any) -> None:
        if result.reported:
            rows = []
            for r in result.reported:
                subject = r.data.object_repr or "—"
                if r.data.org_unit.name != subject:
                    subject = f"{subject} ({r.data.org_unit.name})" if r.data.object_repr else r.data.org_unit.name
                message = r.data.message if r.status == "open" else f"[{r.status}] {r.data.message}"
                rows.append([r.severity, r.code, r.check.clause, subject, message])
            self.stdout.write(render_table(rows, ["severity", "code", "clause", "object", "message"]))
        summary = (f"{len(result.reported)} finding(s) from {len(result.codes)} check(s): {len(result.open)} open, "
                   f"{result.created} new, {result.reopened} re-opened, {result.resolved} resolved")
        if not result.saved:
            summary += " (not saved)"
        self.stdout.write(summary)
