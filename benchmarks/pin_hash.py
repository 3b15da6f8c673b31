"""PIN hash: time per check of the admin PIN hash a kiosk verifies offline, and what guessing every PIN costs.

Measures, in this run on one core of this machine, :func:`shared.pins.verify_pin` on a new hash (scrypt with
the default parameters, 6-digit PIN) and on an old one (PBKDF2-SHA256, 200,000 iterations, 4-digit PIN: the
baseline). Projects the single-core time to try the whole space of the shortest PIN each allows (10**6 and
10**4 guesses), and the ratio. Targets: the full 6-digit space > 1 hour on one core; a check < 80 ms here so
that a Raspberry Pi kiosk (assumed up to 6x slower) stays under 0.5 s. Needs only the standard library and
``shared``, so it also runs on a kiosk, where the "new check" line is the figure that counts.

    python -m benchmarks.pin_hash [--checks 15]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

from shared import pins

CRACK_TARGET_S = 3600.0
CHECK_TARGET_MS = 80.0
KIOSK_SLOWDOWN = 6.0  # an assumption: a Raspberry Pi against the development machine
KIOSK_LIMIT_MS = 500.0
OLD_ITERATIONS = 200_000


LINES: list[str] = []  # this run's result lines, for `python -m benchmarks` to gather with the others


def report(line: str, *, met: bool | None = None) -> None:
    """Print one result line with its verdict against the target, as benchmarks._common does (which this module
    does not import: it needs the server's packages, and this benchmark must also run on a kiosk)."""
    line += "" if met is None else ("  [target met]" if met else "  [target MISSED]")
    LINES.append(line)
    print(line, flush=True)


def old_hash(pin: str) -> str:
    """A hash in the old format, as ``shared.pins`` made them before scrypt."""
    salt = bytes(range(16))
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, OLD_ITERATIONS)
    return f"pbkdf2_sha256${OLD_ITERATIONS}${salt.hex()}${digest.hex()}"


def per_check(pin: str, stored: str, checks: int) -> float:
    """Median seconds of one wrong-PIN check (what each guess costs an attacker) over ``checks`` runs."""
    pins.verify_pin(pin, stored)  # warm up
    times = []
    for _ in range(checks):
        start = time.perf_counter()
        assert not pins.verify_pin("0" * len(pin), stored)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(checks: int = 15) -> None:
    new = per_check("246813", pins.hash_pin("246813"), checks)
    old = per_check("4711", old_hash("4711"), checks)
    new_space, old_space = 10**pins.MIN_DIGITS, 10**4
    new_crack, old_crack = new_space * new, old_space * old
    memory_mib = 128 * pins.R * pins.N / 2**20
    print(f"scrypt n={pins.N} r={pins.R} p={pins.P} ({memory_mib:.0f} MiB) vs PBKDF2-SHA256 {OLD_ITERATIONS:,} iter.")
    report(f"pin_hash: old check (PBKDF2, baseline)   {old * 1000:7.1f} ms")
    report(f"pin_hash: new check (scrypt)             {new * 1000:7.1f} ms", met=new * 1000 < CHECK_TARGET_MS)
    report(
        f"pin_hash: kiosk {KIOSK_SLOWDOWN:.0f}x slower (assumed)     {new * 1000 * KIOSK_SLOWDOWN:7.0f} ms",
        met=new * 1000 * KIOSK_SLOWDOWN < KIOSK_LIMIT_MS,
    )
    report(f"pin_hash: old 4-digit space, one core    {old_space:>9,} x {old * 1000:.1f} ms = {_duration(old_crack)}")
    report(
        f"pin_hash: new {pins.MIN_DIGITS}-digit space, one core    {new_space:>9,} x {new * 1000:.1f} ms = "
        f"{_duration(new_crack)}",
        met=new_crack > CRACK_TARGET_S,
    )
    report(f"pin_hash: new / old full-space time      {new_crack / old_crack:7.0f}x")


def _duration(seconds: float) -> str:
    return (
        f"{seconds:,.0f} s ({seconds / 3600:.1f} h)"
        if seconds >= 3600
        else f"{seconds:,.0f} s ({seconds / 60:.1f} min)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checks", type=int, default=15, help="timed checks per hash (median)")
    run(parser.parse_args().checks)


if __name__ == "__main__":
    main()
