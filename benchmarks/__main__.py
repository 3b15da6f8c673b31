"""``python -m benchmarks [--quick]`` (``make bench``, ``make bench QUICK=1``): the chain-scale table of issue #15
(dashboard, fleet, ingest, drain, kiosk), each figure beside a baseline measured in the same run, then, in a full
run, the older benchmarks (summary API, web ingest, alert rules, PIN hashing); finally every result line together.

``--quick`` gives a first look in under two minutes: smaller datasets, shorter runs, one round each."""

from __future__ import annotations

import argparse
import time

from benchmarks import alert_rules, dashboard, drain, fleet, ingest, kiosk, pin_hash, summary, web_ingest
from benchmarks._common import RESULTS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a first look in under two minutes")
    quick = parser.parse_args().quick
    started = time.perf_counter()
    dashboard.run(quick=quick)
    fleet.run(quick)
    ingest.run(quick)
    drain.run(quick)
    kiosk.run(quick)
    if not quick:
        summary.run([100_000, 10_000_000])
        web_ingest.run()
        alert_rules.run()
        pin_hash.run()
        RESULTS.extend(pin_hash.LINES)
    print(f"\n== results ({time.perf_counter() - started:.0f} s{', quick' if quick else ''}) ==")
    for line in RESULTS:
        print(line)


if __name__ == "__main__":
    main()
