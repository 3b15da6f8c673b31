"""Wire protocol v1 between kiosk and server (see DESIGN.md, "Wire protocol v1").

Pure pydantic models, imported by both sides. Nothing here does I/O.

Validation errors are raised as :class:`pydantic.ValidationError`; its ``loc`` names the
offending field (``taps.3.score``), which the server turns into a 422 body.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

PROTOCOL_VERSION = 1
MAX_TAPS_PER_BATCH = 1000
MAX_BODY_BYTES = 1024 * 1024
FACE_SCALES = (3, 4, 5)
NPS_SCALE = 11
SCALES = (*FACE_SCALES, NPS_SCALE)
MAX_COMMENT_CHARS = 500
INT64_MAX = 2**63 - 1  # the widest integer column (BIGINT) on SQLite and PostgreSQL
INT32_MAX = 2**31 - 1
DEFAULT_TEXTS = {"question": "How was your experience today?", "thanks": "Thank you!"}

Scale = Literal[3, 4, 5, 11]
TapFlag = Literal["repeat", "followup_timeout"]  # set by the kiosk
SERVER_FLAGS = ("clock_corrected",)  # set by the server, never sent by a kiosk
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def score_range(scale: int) -> range:
    """Valid scores for ``scale``: 1..n for faces, 0..10 for the NPS scale.

    Raises ValueError for a scale outside :data:`SCALES`.
    """
    if scale == NPS_SCALE:
        return range(0, 11)
    if scale in FACE_SCALES:
        return range(1, scale + 1)
    raise ValueError(f"scale must be one of {SCALES}, got {scale}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tap(_Strict):
    """One customer answer as the kiosk recorded it."""

    id: UUID
    seq: int = Field(ge=1, le=INT64_MAX, description="Per-kiosk, strictly increasing, never reused.")
    question_id: ShortText = "main"
    # scale is declared before score so that the score validator can see it.
    scale: Scale
    score: int
    tapped_at: AwareDatetime
    mono_ns: int = Field(ge=0, le=INT64_MAX)
    boot_id: ShortText
    followup: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT_CHARS, pattern=NO_NUL)] | None = None
    flags: list[TapFlag] = Field(default_factory=list, max_length=2)

    @field_validator("score")
    @classmethod
    def _score_fits_scale(cls, score: int, info: ValidationInfo) -> int:
        scale = info.data.get("scale")
        if scale is not None and score not in score_range(scale):
            valid = score_range(scale)
            raise ValueError(f"score {score} is outside {valid.start}..{valid.stop - 1} for scale {scale}")
        return score

    @property
    def counted(self) -> bool:
        """Whether the tap counts in scores (repeat presses are stored but not counted)."""
        return "repeat" not in self.flags


class Heartbeat(_Strict):
    """Kiosk health that rides along with every sync."""

    queue_depth: int = Field(ge=0, le=INT32_MAX)
    app_version: Annotated[str, Field(max_length=32)]
    last_tap_at: AwareDatetime | None = None


class TapBatch(_Strict):
    """Body of ``POST /api/v1/taps``."""

    sent_at: AwareDatetime
    boot_id: ShortText
    mono_ns: int = Field(ge=0, le=INT64_MAX)
    taps: list[Tap] = Field(max_length=MAX_TAPS_PER_BATCH)
    heartbeat: Heartbeat | None = None


class BatchResult(_Strict):
    """Answer to ``POST /api/v1/taps``."""

    accepted: int = Field(ge=0, description="Taps stored by this request.")
    duplicates: int = Field(ge=0, description="Taps already stored with the same content (a retry).")
    conflicts: list[UUID] = Field(description="Ids already stored with different content; stored row wins.")
    server_time: datetime


class KioskConfig(_Strict):
    """Body of ``GET /api/v1/kiosk/config``: what the kiosk shows and how it behaves."""

    kiosk_id: str
    location_id: int
    location_name: str
    timezone: str
    question_id: ShortText = "main"
    scale: Scale = 5
    default_language: str = "en"
    texts: dict[str, dict[str, str]] = Field(
        default_factory=lambda: {"en": dict(DEFAULT_TEXTS)},
        description="language code -> text key -> text",
    )
    thank_you_seconds: float = Field(default=3.0, gt=0, le=60)
    repeat_press_seconds: float = Field(default=5.0, ge=0, le=600)


class Problem(BaseModel):
    """Error body of every 4xx answer: a human message plus machine-readable detail."""

    message: str
    detail: list[dict[str, object]] | str | None = None
