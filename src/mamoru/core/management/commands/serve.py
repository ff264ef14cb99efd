"""``mamoru serve``: the production WSGI server (gunicorn) with static files served by WhiteNoise."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Mamoru with gunicorn."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("MAMORU_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("MAMORU_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("MAMORU_WORKERS", "2")))

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        # Collect first: WhiteNoise indexes STATIC_ROOT when the WSGI application is built.
        call_command("collectstatic", interactive=False, verbosity=0)
        from mamoru.wsgi import application

        bind = f"{options['host']}:{options['port']}"
        self.stdout.write(f"Mamoru: http://{bind}/")

        class _App(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", bind)
                self.cfg.set("workers", options["workers"])
                self.cfg.set("accesslog", "-")
                self.cfg.set("timeout", 120)

            def load(self) -> Any:
                return application

        _App().run()
