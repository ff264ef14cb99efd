"""The ``mamoru`` command.

``mamoru init [--demo]``, ``serve``, ``createadmin``, ``token create|revoke|list``, ``check``,
``audit verify``, ``assets …``, ``policy export|remind``, ``quarantine ingest|expire``, ``inspection remind`` map to the
project's management commands;
``mamoru netcheck verify|packet`` runs the segmentation verifier without Django;
``mamoru sanitize`` (the 無害化 engine, stdin → stdout) and ``mamoru relay serve|…`` (the sanitizing
SMTP relay) run without Django too;
``mamoru manage …`` is Django's manage.py.
"""

from __future__ import annotations

import os
import sys

# mamoru's own verbs → management command names (``check`` is the policy check, not Django's).
COMMANDS = {
    "init": "init",
    "serve": "serve",
    "createadmin": "createadmin",
    "token": "token",
    "check": "policycheck",
    "audit": "audit",
    "assets": "assets",
    "policy": "policy",
    "quarantine": "quarantine",
    "inspection": "inspection",
}

# Verbs served by modules that never import Django: module path → its ``main(argv) -> int``.
ENGINES = {
    "netcheck": "mamoru.netcheck.cli",
    "sanitize": "mamoru.sanitize.cli",
    "relay": "mamoru.relay.cli",
}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mamoru.settings")
    from django.core.management import execute_from_command_line

    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__.strip())
        print("\ncommands: " + ", ".join([*COMMANDS, *ENGINES, "manage"]))
        return
    verb, rest = args[0], args[1:]
    if verb in ENGINES:  # pure engines and the relay: no settings, no database
        import importlib

        sys.exit(importlib.import_module(ENGINES[verb]).main(rest))
    if verb == "manage":
        execute_from_command_line(["mamoru manage", *rest])
        return
    if verb not in COMMANDS:
        print(f"mamoru: unknown command {verb!r}; try 'mamoru --help'", file=sys.stderr)
        sys.exit(2)
    execute_from_command_line(["mamoru", COMMANDS[verb], *rest])


if __name__ == "__main__":
    main()
