"""Small factories shared by the kiosk tests (a uniquely named module: test folders have no __init__.py)."""

from __future__ import annotations

from shared.protocol import KioskConfig


def make_config(**overrides: object) -> KioskConfig:
    """A valid KioskConfig with test values; override any field."""
    values: dict[str, object] = {
        "kiosk_id": "kiosk-1",
        "location_id": 1,
        "location_name": "Gate 7",
        "timezone": "Europe/Berlin",
    }
    values.update(overrides)
    return KioskConfig.model_validate(values)
