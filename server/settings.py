"""The server's one settings object; nothing else in the server reads the environment."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.protocol import MAX_BODY_BYTES

log = logging.getLogger(__name__)
PRIVATE_FOLDER_MODE = 0o700  # the data folder holds password hashes, session tokens and comments


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
    kiosk_heartbeat_seconds: int = Field(
        default=300,
        ge=10,
        le=3600,
        description="Seconds between the heartbeats of an idle kiosk, told to kiosks in every answer (a hint header).",
    )
    kiosk_busy_requests: int = Field(
        default=64,
        ge=0,
        description="Requests in hand per worker process (the answered one included) from which answers tell kiosks "
        "to come back later (kiosk_busy_sync_after_seconds); 0: never.",
    )
    kiosk_busy_sync_after_seconds: int = Field(
        default=30, ge=1, le=300, description="How long a kiosk told the server is busy waits before its next request."
    )
    kiosk_auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="A kiosk token, once checked, is trusted this long by each worker process: revoking a kiosk or "
        "archiving, deleting or re-zoning its location takes effect at once in the process that did it and within "
        "this time in the others; 0: checked on every request.",
    )
    web_rate_limit: int = Field(
        default=120,
        ge=0,
        description="Tap posts per client address per minute on web touchpoints (per instance; phones behind one "
        "NAT share an address); 0: no limit.",
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90, description="Dashboard sign-ins last this long.")
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only; set true behind a TLS proxy."
    )
    login_rate_limit: int = Field(
        default=20, ge=0, description="Sign-in attempts per client address per 5 minutes (per instance); 0: none."
    )
    login_concurrency: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Password checks (argon2id, 64 MiB each) run at once per process; more wait up to 2 s, then 503.",
    )
    auto_migrate: bool = Field(default=True, description="Upgrade the schema to head when the server starts.")
    log_level: str = Field(default="info", description="debug, info, warning, error or critical.")
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: uvicorn's lines; json: one JSON object per line, request ids included."
    )
    header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client has to send complete request headers, then closed."
    )
    max_connections: int | None = Field(
        default=None, ge=1, description="Open connections per worker process, then 503; default from the file limit."
    )
    forwarded_allow_ips: str = Field(
        default="", description="Proxies (addresses, networks) whose X-Forwarded-For is believed; default none."
    )
    # Acting on feedback (#12): where notifications go and how links in them look.
    public_url: str | None = Field(
        default=None, description="The server's address as people reach it; links in e-mails and webhooks use it."
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=require to insist) or smtps://...",
    )
    mail_from: str = Field(default="smilepost@localhost", description="Sender of e-mails.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Derives webhook signing secrets; default a random key kept in <data_dir>/secret.key (0600). "
        "Several instances must share one.",
    )
    background: bool = Field(
        default=True,
        description="Run the notification worker and the scheduler (alerts, reports) in the server; false when "
        "`smilepost worker` runs them instead.",
    )
    evaluate_seconds: float = Field(default=15.0, gt=0, le=60, description="How often alert rules are evaluated.")
    deliver_seconds: float = Field(default=2.0, gt=0, le=60, description="How often the notification outbox is read.")
    # Retention (#14, server.retention): by the tap's local date; the rollups, and so every summary, are kept.
    retain_comments_days: int = Field(
        default=0, ge=0, description="Comment texts are cleared (the tap stays) after this many days; 0: kept."
    )
    retain_taps_days: int = Field(
        default=0, ge=0, description="Raw taps are deleted after this many days (rollups stay); 0: kept for ever."
    )

    @cached_property
    def resolved_database_url(self) -> str:
        """The database URL in use, creating the data folder (mode 0700) for the SQLite default.

        An existing folder keeps its mode (it may be shared, e.g. ``.``); a warning names one that others may
        read or write. The database files in it are private anyway (:func:`server.db.make_engine`).
        Raises OSError when the folder cannot be created.
        """
        if self.database_url:
            return self.database_url
        private_folder(self.data_dir)
        return f"sqlite:///{(self.data_dir / 'smilepost.db').resolve()}"


def private_folder(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700 for the folder itself; warn when an existing one is
    open to group or others. Raises OSError when it cannot be created."""
    try:
        path.mkdir(mode=PRIVATE_FOLDER_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise
        if (mode := path.stat().st_mode & 0o777) & 0o077:
            log.warning(
                "data folder %s has mode %o, open to other users: the database files in it are private (0600), "
                "but unless the folder is shared on purpose run `chmod 700 %s`", path, mode, path,
            )  # fmt: skip
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=PRIVATE_FOLDER_MODE, exist_ok=True)
