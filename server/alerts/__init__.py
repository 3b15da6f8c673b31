"""Alerts (#12): rules that watch a location or a group, the evaluator that opens and closes alerts, service targets.

A library; the CLI, the API, the dashboard and the scheduler call it:

- :mod:`server.alerts.rules` — :func:`~server.alerts.rules.parse_window`, add, list and disable rules, the rules of a
  location (its own and its group's);
- :mod:`server.alerts.targets` — a target Happy Index (or NPS) per location or group;
- :mod:`server.alerts.evaluate` — :func:`~server.alerts.evaluate.evaluate` judges every enabled rule for every
  location it applies to, over windows of effective tap time;
- :mod:`server.alerts.lifecycle` — open, update, clear and close one alert, acknowledge it, with the notifications
  written to the outbox (:mod:`server.notify.outbox`) in the same transaction;
- :mod:`server.alerts.listing` — alerts for the API and the dashboard, and one alert with the taps of its window;
- :mod:`server.alerts.baseline` — the one-sided exact binomial test of the ``baseline`` metric (pure maths);
- :mod:`server.alerts.figures` — the SQL that counts a window's taps.

At most one alert per (rule, location, kiosk) is not closed: the partial unique index ``ux_alerts_one_active`` makes
that a database fact, so evaluators on several instances never open two (docs/architecture.md, "Many instances").

Errors are the server's own (see :mod:`server`)::

    SmilepostError
    ├── NotFound       an unknown rule, alert, location, group or webhook
    ├── InvalidInput   a rule, window, threshold, target or filter that cannot be used (the message names the option)
    └── Forbidden      a manager acting on an alert of a location not granted to them
"""
