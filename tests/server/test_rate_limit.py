"""Per-kiosk rate limit: exact thresholds with an injected clock, 429 + Retry-After on every kiosk endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from server.app import create_app
from server.auth.ratelimit import RateLimiter
from server.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_limit_at_once_then_one_per_refill_interval() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, 8.0, clock=clock)  # 4 at once, then one every 2 s

    assert [limiter.hit("k") for _ in range(4)] == [None] * 4
    assert limiter.hit("k") == 2
    clock.now += 1.5
    assert limiter.hit("k") == 1  # 0.75 of a token: 0.5 s to go, rounded up
    clock.now += 0.5
    assert limiter.hit("k") is None
    assert limiter.hit("k") == 2


def test_a_full_window_of_rest_restores_the_whole_allowance_and_no_more() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, 8.0, clock=clock)
    for _ in range(4):
        limiter.hit("k")

    clock.now += 100.0

    assert [limiter.hit("k") for _ in range(5)] == [None, None, None, None, 2]


def test_kiosks_have_separate_buckets() -> None:
    limiter = RateLimiter(2, 60.0, clock=FakeClock())

    assert [limiter.hit("a"), limiter.hit("a"), limiter.hit("a")] == [None, None, 30]
    assert [limiter.hit("b"), limiter.hit("b")] == [None, None]


def test_idle_kiosks_are_evicted_and_memory_is_capped() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, 60.0, clock=clock, max_keys=100)
    for i in range(100):
        limiter.hit(f"k{i}")
    assert len(limiter) == 100

    limiter.hit("k-new")  # over the cap: the least recently seen bucket goes
    assert len(limiter) == 100
    clock.now += 60.0
    limiter.hit("k-last")  # everything else idle for a full window: dropped

    assert len(limiter) == 1


@pytest.mark.parametrize(("limit", "window"), [(0, 60.0), (1, 0.0)])
def test_limiter_refuses_a_meaningless_setting(limit: int, window: float) -> None:
    with pytest.raises(ValueError, match="need limit >= 1 and window > 0"):
        RateLimiter(limit, window)


def test_default_lets_a_kiosk_sync_every_ten_seconds_forever() -> None:
    settings = Settings(database_url="sqlite://")
    clock = FakeClock()
    limiter = RateLimiter(settings.kiosk_rate_limit, settings.kiosk_rate_window_seconds, clock=clock)

    # Every 10 s for a day: config, taps and heartbeat (three requests), far below the default.
    refused = 0
    for _ in range(8640):
        refused += sum(limiter.hit("k") is not None for _ in range(3))
        clock.now += 10
    assert (settings.kiosk_rate_limit, settings.kiosk_rate_window_seconds, refused) == (600, 60.0, 0)


# --- through the app ----------------------------------------------------------------------------


@pytest.fixture
def limited(settings: Settings):
    """(app, clock) with a limit of 3 requests per 30 s per kiosk and a fake clock."""
    app = create_app(settings.model_copy(update={"kiosk_rate_limit": 3, "kiosk_rate_window_seconds": 30.0}))
    clock = FakeClock()
    app.state.kiosk_limiter.clock = clock
    yield app, clock
    app.state.engine.dispose()


def _ping() -> dict[str, object]:
    sent_at = datetime.now(UTC).isoformat()
    return {"sent_at": sent_at, "boot_id": "b", "mono_ns": 1, "heartbeat": {"queue_depth": 0, "app_version": "1"}}


def _requests(client: TestClient, token: str, make_batch) -> list:  # type: ignore[no-untyped-def]
    auth = {"Authorization": f"Bearer {token}"}
    return [
        lambda: client.post("/api/v1/taps", json=make_batch([]), headers=auth),
        lambda: client.get("/api/v1/kiosk/config", headers=auth),
        lambda: client.post("/api/v1/kiosk/heartbeat", json=_ping(), headers=auth),
    ]


def test_kiosk_over_its_limit_gets_429_with_retry_after_on_every_kiosk_endpoint(
    limited, kiosk, enroll, location, make_batch
):
    app, clock = limited
    with TestClient(app) as client:
        calls = _requests(client, kiosk.token, make_batch)
        assert [call().status_code for call in calls] == [200, 200, 204]

        refused = [call() for call in calls]

        assert [r.status_code for r in refused] == [429, 429, 429]
        assert {r.headers["Retry-After"] for r in refused} == {"10"}
        assert refused[0].json() == {"message": "too many requests from this kiosk; try again in 10 s"}
        other = enroll(location)
        assert client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {other.token}"}).status_code == 200
        clock.now += 9.9
        assert calls[1]().headers["Retry-After"] == "1"
        clock.now += 0.1
        assert calls[1]().status_code == 200


def test_rejected_credentials_do_not_use_up_a_kiosks_allowance(limited, kiosk):
    app, _clock = limited
    with TestClient(app) as client:
        for _ in range(10):
            assert client.get("/api/v1/kiosk/config", headers={"Authorization": "Bearer spk_wrong"}).status_code == 401

        answers = [
            client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"}) for _ in range(4)
        ]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]


def test_zero_turns_the_limit_off(settings, kiosk):
    app = create_app(settings.model_copy(update={"kiosk_rate_limit": 0}))
    with TestClient(app) as client:
        codes = {client.get("/api/v1/kiosk/config", headers={"Authorization": f"Bearer {kiosk.token}"}).status_code
                 for _ in range(200)}  # fmt: skip
    app.state.engine.dispose()

    assert (app.state.kiosk_limiter, codes) == (None, {200})


def test_openapi_documents_429_on_every_kiosk_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]

    assert "429" in paths["/api/v1/taps"]["post"]["responses"]
    assert "429" in paths["/api/v1/kiosk/config"]["get"]["responses"]
    assert "429" in paths["/api/v1/kiosk/heartbeat"]["post"]["responses"]
