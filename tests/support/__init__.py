"""Helpers the tests (and benchmarks) share: a live server, a PostgreSQL cluster, Chromium, a fault proxy, a kiosk
driver and small factories. Import them as ``tests.support.<module>``."""
