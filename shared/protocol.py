"""Wire protocol v1 between kiosk and server (see docs/architecture.md, "Wire protocol v1").

Pure pydantic models, imported by both sides. Nothing here does I/O.

Validation errors are raised as :class:`pydantic.ValidationError`; its ``loc`` names the
offending field (``taps.3.score``), which the server turns into a 422 body.

Every time on the wire is a :data:`WireTime`: any offset is accepted (a kiosk's clock may be wildly wrong, and
the server corrects it), except one whose instant falls outside years 1-9999 in UTC, which no ``datetime`` can
hold. That is the only timestamp refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

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
SERVER_FLAGS = ("clock_corrected", "redacted")  # set by the server, never sent by a kiosk
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
ShortText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]


def representable_in_utc(moment: datetime) -> datetime:
    """``moment`` unchanged if it can be converted to UTC.

    Raises ValueError when its UTC instant lies outside years 1-9999 (``9999-12-31T23:59:59-00:01``).
    """
    if 1 < moment.year < 9999:  # an offset is under a day: only the first and last year can overflow
        return moment
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is outside years 1-9999 when converted to UTC") from None
    return moment


WireTime = Annotated[AwareDatetime, AfterValidator(representable_in_utc)]


def score_range(scale: int) -> range:
    """Valid scores for ``scale``: 1..n for faces, 0..10 for the NPS scale.

    Raises ValueError for a scale outside :data:`SCALES`.
    """
    if scale == NPS_SCALE:
        return range(0, 11)
    if scale in FACE_SCALES:
        return range(1, scale + 1)
    raise ValueError(f"scale must be one of {SCALES}, got {scale}")


_SCORE_RANGES = {scale: score_range(scale) for scale in SCALES}  # every tap is checked: no range made each time


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tap(_Strict):
    """One customer answer as the kiosk recorded it."""

    id: UUID
    seq: int = Field(ge=1, le=INT64_MAX, description="Per-kiosk, strictly increasing, never reused.")
    question_id: ShortText = "main"
    # scale is declared before score so that the score validator can see it.
    scale: Scale
    score: int = Field(ge=0, le=10, description="1..scale for faces, 0..10 for the NPS scale (11)")
    tapped_at: WireTime
    mono_ns: int = Field(ge=0, le=INT64_MAX)
    boot_id: ShortText
    followup: Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL)] | None = None
    comment: Annotated[str, Field(max_length=MAX_COMMENT_CHARS, pattern=NO_NUL)] | None = None
    flags: list[TapFlag] = Field(default_factory=list, max_length=2)
    first_tap_id: UUID | None = Field(
        default=None,
        description="Set on every further answer of one customer (an aspect question of a sequence): the id of "
        "that customer's first tap, so that their answers can be read together. None on a first tap.",
    )

    @field_validator("score")
    @classmethod
    def _score_fits_scale(cls, score: int, info: ValidationInfo) -> int:
        scale = info.data.get("scale")
        if scale is not None and score not in (valid := _SCORE_RANGES.get(scale) or score_range(scale)):
            raise ValueError(f"score {score} is outside {valid.start}..{valid.stop - 1} for scale {scale}")
        return score

    @field_validator("first_tap_id")
    @classmethod
    def _not_linked_to_itself(cls, first: UUID | None, info: ValidationInfo) -> UUID | None:
        if first is not None and first == info.data.get("id"):
            raise ValueError("first_tap_id must name another tap: a first tap leaves it out")
        return first

    @property
    def counted(self) -> bool:
        """Whether the tap counts in scores (repeat presses are stored but not counted)."""
        return "repeat" not in self.flags


class Heartbeat(_Strict):
    """Kiosk health that rides along with every sync (and alone on ``POST /api/v1/kiosk/heartbeat``).

    ``last_seq`` and ``quarantined`` let the server tell a gap it should worry about (taps recorded but
    never received) from taps the kiosk is still holding or has set aside after a 422.
    """

    queue_depth: int = Field(ge=0, le=INT32_MAX)
    app_version: Annotated[str, Field(max_length=32, pattern=NO_NUL)]
    last_tap_at: WireTime | None = None
    last_seq: int | None = Field(default=None, ge=0, le=INT64_MAX, description="highest seq recorded")
    quarantined: int = Field(default=0, ge=0, le=INT32_MAX, description="taps set aside after a 422")


class HeartbeatPing(_Strict):
    """Body of ``POST /api/v1/kiosk/heartbeat``: an idle kiosk's health and clock."""

    sent_at: WireTime
    boot_id: ShortText
    mono_ns: int = Field(ge=0, le=INT64_MAX)
    heartbeat: Heartbeat


class TapBatch(_Strict):
    """Body of ``POST /api/v1/taps``."""

    sent_at: WireTime
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


LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$", description="e.g. en, nb, pt-BR")]
ReasonId = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LocalTime = Annotated[str, Field(pattern=r"^([01][0-9]|2[0-4]):[0-5][0-9]$", description="HH:MM, local")]
MAX_REASONS = 6

# Text keys a kiosk looks up per language; a reason's label is under "reason.<id>".
TEXT_KEYS = (
    "question", "thanks", "followup_question", "comment_prompt", "closed", "attract",
    # button labels
    "skip", "comment_button", "send", "cancel", "nps_low", "nps_high",
)  # fmt: skip


class FollowUp(_Strict):
    """An optional second question after the face: why? Up to 6 reasons for each side."""

    negative_reasons: list[ReasonId] = Field(default_factory=list, max_length=MAX_REASONS)
    positive_reasons: list[ReasonId] = Field(default_factory=list, max_length=MAX_REASONS)
    timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="no answer -> recorded as a timeout")


class CommentSettings(_Strict):
    """An optional free-text comment typed on the on-screen keyboard."""

    enabled: bool = False
    max_chars: int = Field(default=200, ge=1, le=MAX_COMMENT_CHARS)


QuestionMode = Literal["single", "rotate", "sequence"]
MAX_EXTRA_QUESTIONS = 3  # besides the main question


class Question(_Strict):
    """A question asked besides the main one: its own id, texts per language (``question`` and the labels of its
    reasons, ``reason.<id>``), scale and follow-up reasons. Texts it lacks fall back to the built-in ones."""

    id: ShortText
    scale: Scale = 5
    texts: dict[LanguageCode, dict[str, Annotated[str, Field(max_length=300)]]] = Field(
        default_factory=dict, description="language code -> 'question' or 'reason.<id>' -> text"
    )
    followup: FollowUp | None = None


class LocationConfig(_Strict):
    """What an operator sets for the kiosks of a location (stored by the server; scale lives on the location).

    ``opening_hours`` maps a local weekday to open spans; None means always open, a missing day means closed.
    ``admin_pin_hash`` is made by :func:`shared.pins.hash_pin`; the PIN itself is never stored or served.

    The main question is ``question_id`` with ``texts[...]["question"]``, ``followup`` and the location's scale:
    it is what a v1 kiosk asks and what ``question=`` means when left out. ``questions`` are the others (up to
    :data:`MAX_EXTRA_QUESTIONS`), asked as ``question_mode`` says: ``single`` asks the main question only;
    ``rotate`` asks each customer one question, in turn on each device; ``sequence`` asks the main question, then
    each of the others, each skippable and timing out after ``question_timeout_seconds``
    (:func:`shared.questions.all_questions` lists them main first).
    """

    question_id: ShortText = "main"
    default_language: LanguageCode = "en"
    texts: dict[LanguageCode, dict[str, Annotated[str, Field(max_length=300)]]] = Field(
        default_factory=lambda: {"en": dict(DEFAULT_TEXTS)},
        description="language code -> text key (see TEXT_KEYS, plus reason.<id>) -> text",
    )
    followup: FollowUp | None = None
    comment: CommentSettings = Field(default_factory=CommentSettings)
    thank_you_seconds: float = Field(default=3.0, gt=0, le=60)
    repeat_press_seconds: float = Field(default=5.0, ge=0, le=600)
    attract_after_seconds: float = Field(default=30.0, gt=0, le=3600)
    opening_hours: dict[Weekday, list[tuple[LocalTime, LocalTime]]] | None = None
    admin_pin_hash: str | None = None
    questions: list[Question] = Field(default_factory=list, max_length=MAX_EXTRA_QUESTIONS)
    question_mode: QuestionMode = "single"
    question_timeout_seconds: float = Field(default=10.0, gt=0, le=120, description="an aspect question unanswered")
    web_repeat_minutes: float = Field(
        default=10.0, ge=0, le=1440, description="one phone answers a web touchpoint once per this many minutes"
    )

    @field_validator("questions")
    @classmethod
    def _question_ids_are_unique(cls, questions: list[Question], info: ValidationInfo) -> list[Question]:
        ids = [info.data.get("question_id", "main"), *(q.id for q in questions)]
        if len(set(ids)) != len(ids):
            raise ValueError(f"question ids must differ from each other and from the main question's: {ids}")
        return questions


#: Fields a v1 kiosk does not know (its config model forbids unknown fields): the server sends them only to a
#: kiosk that asks for them (:data:`CONFIG_FEATURES_HEADER`).
V2_CONFIG_FIELDS = frozenset({"questions", "question_mode", "question_timeout_seconds", "web_repeat_minutes"})
CONFIG_FEATURES_HEADER = "Smilepost-Features"  # value "questions": the kiosk asks several questions

#: Hints on the server's answers to a sync, a heartbeat and a config request (headers, so a v1 kiosk, whose models
#: refuse unknown body fields, ignores them): how many seconds apart an idle kiosk should send heartbeats, and,
#: only while the server is busy, how many seconds any kiosk should wait before its next request (backpressure).
#: A kiosk follows both with jitter; see docs/architecture.md "Hints".
HEARTBEAT_HINT_HEADER = "Smilepost-Heartbeat-Seconds"
SYNC_AFTER_HEADER = "Smilepost-Sync-After"


class KioskConfig(LocationConfig):
    """Body of ``GET /api/v1/kiosk/config``: the location's config plus who and where the kiosk is."""

    kiosk_id: str
    location_id: int
    location_name: str
    timezone: str
    scale: Scale = 5


KioskName = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]


class PairRequest(_Strict):
    """Body of ``POST /api/v1/pair``: the one-time code an operator read out, and a name the kiosk suggests."""

    code: Annotated[str, Field(pattern=r"^[0-9]{8}$", description="the 8-digit one-time code")]
    name: KioskName | None = None


class PairResult(_Strict):
    """Answer to ``POST /api/v1/pair``: the new kiosk's id and token (shown once) and the server's clock."""

    kiosk_id: str = Field(min_length=1)
    token: str = Field(min_length=1)
    server_time: datetime


class Problem(BaseModel):
    """Error body of every 4xx answer: a human message plus machine-readable detail."""

    message: str
    detail: list[dict[str, object]] | str | None = None
