"""Kiosk settings: the one place the kiosk reads the environment (``SMILEPOST_KIOSK_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.protocol import MAX_TAPS_PER_BATCH


class KioskSettings(BaseSettings):
    """Settings of one kiosk process, read from ``SMILEPOST_KIOSK_*`` environment variables.

    Raises pydantic.ValidationError for an invalid value (e.g. ``SMILEPOST_KIOSK_BATCH_SIZE=0``).
    """

    model_config = SettingsConfigDict(env_prefix="SMILEPOST_KIOSK_", extra="ignore")

    server: str = "http://127.0.0.1:8000"
    token: SecretStr | None = None
    data_dir: Path = Path("kiosk-data")
    fullscreen: bool = False
    batch_size: int = Field(default=MAX_TAPS_PER_BATCH, ge=1, le=MAX_TAPS_PER_BATCH)
    sync_interval: float = Field(default=10.0, gt=0, description="Seconds between background syncs.")
    heartbeat_interval: float = Field(
        default=60.0, gt=0, description="Seconds between heartbeats of an idle kiosk (nothing to send)."
    )
    request_timeout: float = Field(default=10.0, gt=0)
    admin_pin: SecretStr | None = Field(
        default=None, description="PIN for the admin screen when the server's config sets no admin_pin_hash."
    )
