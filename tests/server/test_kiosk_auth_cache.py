"""The kiosk-token cache (server.auth.kiosk_tokens.KioskAuthCache): one lookup per kiosk round, and revoking or
archiving still honoured within the cache time (at once for a revocation made in this process)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import update

from server import lifecycle
from server.auth import kiosk_tokens
from server.auth.kiosk_tokens import KioskAuthCache
from server.db import kiosks, locations
from server.settings import Settings

SECONDS = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cache(clock):
    return KioskAuthCache(SECONDS, clock=clock)


def test_a_checked_token_is_trusted_for_the_cache_time_then_looked_up_again(engine, kiosk, location, cache, clock):
    first = cache.authenticate(engine, kiosk.token)
    assert first is not None and (first.kiosk_id, first.location_id) == (kiosk.kiosk_id, location)
    with engine.begin() as conn:  # revoked by another process (the CLI, another worker): this one cannot know
        conn.execute(update(kiosks).where(kiosks.c.id == kiosk.kiosk_id).values(revoked_at=datetime.now(UTC)))
    clock.now += SECONDS - 0.001
    assert cache.authenticate(engine, kiosk.token) == first
    clock.now += 0.001
    assert cache.authenticate(engine, kiosk.token) is None


def test_revoking_in_this_process_takes_effect_at_once(engine, kiosk, cache):
    assert cache.authenticate(engine, kiosk.token) is not None
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, kiosk.kiosk_id)
    assert cache.authenticate(engine, kiosk.token) is None


def test_archiving_the_location_takes_effect_within_the_cache_time(engine, kiosk, location, cache, clock):
    assert cache.authenticate(engine, kiosk.token).archived is False
    with engine.begin() as conn:
        conn.execute(update(locations).where(locations.c.id == location).values(archived_at=datetime.now(UTC)))
    clock.now += SECONDS
    assert cache.authenticate(engine, kiosk.token).archived is True


def test_forgetting_a_location_drops_its_kiosks_at_once(engine, kiosk, location, cache):
    assert cache.authenticate(engine, kiosk.token).archived is False
    with engine.begin() as conn:
        conn.execute(update(locations).where(locations.c.id == location).values(archived_at=datetime.now(UTC)))
    kiosk_tokens.forget_cached(location_id=location)
    assert cache.authenticate(engine, kiosk.token).archived is True


def test_unknown_tokens_are_not_kept_and_zero_seconds_keeps_nothing(engine, kiosk, clock):
    cache = KioskAuthCache(SECONDS, clock=clock)
    assert cache.authenticate(engine, "spk_unknown") is None
    assert cache._known == {}
    off = KioskAuthCache(0, clock=clock)
    assert off.authenticate(engine, kiosk.token) is not None
    assert off._known == {}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with the cache on."""
    return settings.model_copy(update={"kiosk_auth_cache_seconds": SECONDS})


def test_a_kiosk_revoked_between_two_requests_is_refused_on_the_second(client, engine, kiosk, location):
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    assert client.get("/api/v1/kiosk/config", headers=headers).status_code == 200
    with engine.begin() as conn:
        kiosk_tokens.revoke_kiosk(conn, kiosk.kiosk_id)
    assert client.get("/api/v1/kiosk/config", headers=headers).status_code == 401


def test_archiving_or_rezoning_through_lifecycle_takes_effect_at_once_in_this_process(engine, kiosk, location, cache):
    assert cache.authenticate(engine, kiosk.token).timezone.key == "Europe/Oslo"
    with engine.begin() as conn:
        lifecycle.set_timezone(conn, location, "America/New_York")
    assert cache.authenticate(engine, kiosk.token).timezone.key == "America/New_York"  # its next taps' dates
    with engine.begin() as conn:
        lifecycle.archive_location(conn, location)
    assert cache.authenticate(engine, kiosk.token).archived is True


def test_the_cache_is_on_by_default_for_seconds_not_minutes():
    assert 0 < Settings.model_fields["kiosk_auth_cache_seconds"].default <= 10
