"""API response schemas, separate from the tables they are read from."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from shared import scores


class ShareOut(BaseModel):
    """A percentage with its count, sample size and 95 % Wilson interval."""

    value: float | None = Field(description="percent; null when n is 0")
    low: float | None
    high: float | None
    k: int
    n: int
    small_sample: bool

    @classmethod
    def of(cls, share: scores.Share) -> ShareOut:
        return cls(value=share.value, low=share.low, high=share.high, k=share.k, n=share.n,
                   small_sample=share.small)  # fmt: skip


class EstimateOut(BaseModel):
    """A mean-type score (Happy Index, NPS) with its 95 % interval."""

    value: float | None
    low: float | None
    high: float | None
    n: int
    small_sample: bool

    @classmethod
    def of(cls, estimate: scores.Estimate) -> EstimateOut:
        return cls(value=estimate.value, low=estimate.low, high=estimate.high, n=estimate.n,
                   small_sample=estimate.small)  # fmt: skip


class LocationOut(BaseModel):
    """A location as listed by the API."""

    id: int
    name: str
    timezone: str
    scale: int


class FiguresOut(BaseModel):
    """Every figure of one set of counted presses."""

    responses: int = Field(description="counted taps (repeat presses excluded), all scales")
    counts: dict[str, int] = Field(description="score -> count on the question's scale")
    happy_index: EstimateOut
    csat: ShareOut
    negative: ShareOut
    nps: EstimateOut


class ReasonOut(BaseModel):
    """A follow-up reason picked after faces of one side, as a share of all picks on that side."""

    id: str
    label: str = Field(description="in the caller's language (Accept-Language) where the location has it")
    side: Literal["negative", "neutral", "positive"] = Field(description="the side of the face that was tapped")
    count: int
    share: ShareOut


class ComparedOut(FiguresOut):
    """The stretch a trend point is compared with: local dates [start, end)."""

    start: date
    end: date


class TrendPointOut(FiguresOut):
    """One day, ISO week or calendar month of a trend (local dates [start, end)) and what it is compared with."""

    start: date
    end: date
    compare: ComparedOut


class LocationSummary(FiguresOut):
    """Satisfaction at one location over local dates ``start`` (inclusive) to ``end`` (exclusive)."""

    location_id: int
    location_name: str
    timezone: str
    question_id: str
    channel: Literal["kiosk", "web"] | None = Field(
        default=None, description="the channel the figures are of (kiosks or web touchpoints); null: every channel"
    )
    start: date
    end: date
    scale: int = Field(
        description="the question's scale (the location's current scale for its main question); keys of `counts` "
        "are its scores"
    )
    reasons: list[ReasonOut] = Field(description="each (reason, side) picked in the range, negative side first")
    filtered: dict[str, int] = Field(
        description="presses stored but left out of the figures, by why (every reason present, 0 when none)"
    )
    what_if_repeat_seconds: float | None = Field(
        description="the repeat-press interval the figures were replayed with; null: as stored"
    )
    granularity: Literal["day", "week", "month"] | None
    compare: Literal["previous", "year"] | None
    trend: list[TrendPointOut] | None = Field(description="with granularity: one point per day, week or month")


class KioskOut(BaseModel):
    """A kiosk as the fleet API lists it: health, clock and completeness (see :mod:`server.fleet`)."""

    kiosk_id: str
    name: str
    location_id: int
    last_seen_at: datetime | None = Field(description="last batch or heartbeat received")
    last_sync_at: datetime | None = Field(description="last batch of taps received")
    queue_depth: int | None = Field(description="taps the kiosk still holds unsent, as last reported")
    app_version: str | None
    clock_offset_seconds: float | None = Field(
        description="server time minus kiosk time at the last batch or heartbeat (positive: kiosk behind)"
    )
    received: int = Field(description="distinct taps stored from this kiosk")
    max_seq: int = Field(description="highest seq stored from this kiosk (0: none)")
    reported_seq: int | None = Field(description="highest seq the kiosk says it has recorded")
    quarantined: int = Field(description="taps the kiosk set aside after a 422, as last reported")
    last_tap_at: datetime | None = Field(
        description="the kiosk's newest tap, as last reported (on the server's clock when the kiosk's was off)"
    )
    missing: int = Field(description="taps recorded but neither received, queued nor quarantined: lost so far")
    revoked: bool
    retired: bool = False  # moved to another location: its token still delivers taps here
    successor_id: str | None = None  # the kiosk id the moved device got at its new location
