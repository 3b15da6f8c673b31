"""``GET /metrics``: Prometheus counters move by exactly what a batch did."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families


def _samples(client: Any) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_a_batch_moves_tap_counters_batch_histogram_and_request_count_by_exact_amounts(client, send, tap):
    stored = tap()
    assert send([stored]).status_code == 200
    changed = dict(stored, score=1)
    before = _samples(client)

    body = send([tap(), tap(), stored, changed | {"id": tap()["id"]}, stored, changed]).json()

    after = _samples(client)
    assert (body["accepted"], body["duplicates"], len(body["conflicts"])) == (3, 2, 1)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("smilepost_taps_total", outcome="accepted") == 3
    assert delta("smilepost_taps_total", outcome="duplicate") == 2
    assert delta("smilepost_taps_total", outcome="conflict") == 1
    assert delta("smilepost_batch_taps_count") == 1
    assert delta("smilepost_batch_taps_sum") == 6
    assert delta("smilepost_batch_taps_bucket", le="5.0") == 0
    assert delta("smilepost_batch_taps_bucket", le="10.0") == 1
    route = {"method": "POST", "route": "/api/v1/taps"}
    assert delta("smilepost_http_requests_total", status="200", **route) == 1
    assert delta("smilepost_http_request_duration_seconds_count", **route) == 1


def test_requests_are_labelled_by_route_template_and_status_not_by_raw_path(client, location):
    client.get(f"/api/v1/locations/{location}/summary?start=2026-01-01&end=2026-02-01")
    client.get("/api/v1/locations/999/summary?start=2026-01-01&end=2026-02-01")
    client.get("/no/such/path")

    samples = _samples(client)

    summary = {"method": "GET", "route": "/api/v1/locations/{location_id}/summary"}
    assert _value(samples, "smilepost_http_requests_total", status="401", **summary) == 2
    assert _value(samples, "smilepost_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert not any("999" in str(labels) for _, labels in samples)


def test_metrics_start_at_zero_for_every_tap_outcome(client):
    samples = _samples(client)

    assert [_value(samples, "smilepost_taps_total", outcome=o) for o in ("accepted", "duplicate", "conflict")] == [
        0,
        0,
        0,
    ]
