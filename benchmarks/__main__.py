"""``python -m benchmarks`` (``make bench``): every benchmark in turn, then all result lines together."""

from __future__ import annotations

import time

from benchmarks import alert_rules, dashboard, drain, fleet, ingest, pin_hash, summary, web_ingest
from benchmarks._common import RESULTS


def main() -> None:
    started = time.perf_counter()
    ingest.run()
    web_ingest.run()
    summary.run([100_000, 10_000_000])
    fleet.run()
    fleet.run(workers=2)
    drain.run()
    dashboard.run()
    alert_rules.run()
    pin_hash.run()
    RESULTS.extend(pin_hash.LINES)
    print(f"\n== results ({time.perf_counter() - started:.0f} s) ==")
    for line in RESULTS:
        print(line)


if __name__ == "__main__":
    main()
