"""The server's one settings object; nothing else in the server reads the environment."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.protocol import MAX_BODY_BYTES


class Settings(BaseSettings):
    """Server configuration, read from ``SMILEPOST_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SMILEPOST_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Folder of the default SQLite database.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<data_dir>/smilepost.db"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=MAX_BODY_BYTES, ge=1024)
    clock_skew_seconds: float = Field(
        default=120.0, gt=0, description="Kiosk clock error beyond which tap times are corrected."
    )
    kiosk_rate_limit: int = Field(
        default=600, ge=0, description="Requests a kiosk may make per window (per server instance); 0: no limit."
    )
    kiosk_rate_window_seconds: float = Field(default=60.0, gt=0, description="Window of kiosk_rate_limit.")
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90, description="Dashboard sign-ins last this long.")
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only; set true behind a TLS proxy."
    )
    login_rate_limit: int = Field(
        default=20, ge=0, description="Sign-in attempts per client address per 5 minutes (per instance); 0: none."
    )
    auto_migrate: bool = Field(default=True, description="Upgrade the schema to head when the server starts.")
    log_level: str = "info"

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in use, creating the data folder for the SQLite default."""
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'smilepost.db').resolve()}"
