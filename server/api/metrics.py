"""Prometheus metrics: request count and latency per route, tap outcomes, batch sizes; ``GET /metrics``.

Each application has its own registry (``app.state.metrics``), so the numbers are per process: behind a
load balancer, Prometheus scrapes every instance and sums with ``sum by (...)``. Nothing here is needed
for correctness; the server stays stateless.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.protocol import BatchResult

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 5, 10, 25, 50, 100, 250, 500, 1000)
UNMATCHED = "unmatched"  # requests no route matched, kept as one label so paths cannot blow up cardinality


class Metrics:
    """The metrics of one application, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "smilepost_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "smilepost_http_request_duration_seconds",
            "Time from request to the end of the response.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.taps = Counter(
            "smilepost_taps", "Taps received, by outcome (accepted, duplicate, conflict).", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.batch_size = Histogram(
            "smilepost_batch_taps", "Taps per delivered batch.", buckets=BATCH_BUCKETS, registry=self.registry
        )
        for outcome in ("accepted", "duplicate", "conflict"):
            self.taps.labels(outcome)  # present (at 0) before the first batch

    def observe_batch(self, size: int, result: BatchResult) -> None:
        """Count one stored batch of ``size`` taps and what happened to them."""
        self.batch_size.observe(size)
        self.taps.labels("accepted").inc(result.accepted)
        self.taps.labels("duplicate").inc(result.duplicates)
        self.taps.labels("conflict").inc(len(result.conflicts))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request, labelled by route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # unless a response starts

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_template(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - start)


def route_template(scope: Scope) -> str:
    """The template of the route that matched (``/api/v1/locations/{location_id}/summary``), else ``unmatched``."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
def metrics(request: Request) -> Response:
    """This instance's metrics in the Prometheus text format (scrape every instance)."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
