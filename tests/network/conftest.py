"""The demo network on the persona world's city: the netcheck example inventory, two firewalls, systems,
terminals and one verification run (mamoru.network.demo)."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def network(world: Any) -> Any:
    from mamoru.network.demo import load_demo_network

    load_demo_network(world.units["city"])
    world.city = world.units["city"]
    return world
