from typing import Any


def register(router: Any) -> None:
    """Register the core viewsets."""
