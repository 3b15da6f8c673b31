"""Reports by e-mail and the results poster (#12): what a report says, how it looks, when it is due, and sending it
through the notification outbox exactly once per subscription and period.

Modules: :mod:`~server.reports.periods` (last complete day, ISO week or month; send times; pure),
:mod:`~server.reports.data` (a location's or group's figures, trend, reasons, comments, ranking, read through
:mod:`server.analytics`), :mod:`~server.reports.poster` (the last 7 days of a location),
:mod:`~server.reports.charts` (server-side SVG; pure), :mod:`~server.reports.render` (one Jinja2 template for the
e-mail body and, through WeasyPrint, the PDF; nothing fetched), :mod:`~server.reports.mail` (the outbox payload and
the e-mail with the PDF attached), :mod:`~server.reports.subscriptions` (who gets what, when, in which time zone),
:mod:`~server.reports.delivery` (:func:`~server.reports.delivery.send_report_now` and
:func:`~server.reports.delivery.due_reports` for the scheduler).

Errors are the server's own (:mod:`server`)::

    SmilepostError
    ├── NotFound        an unknown location, group, user or subscription
    ├── InvalidInput    a period other than day|week|month, a time that is not HH:MM, an unknown time zone,
    │                   neither or both of location and group, a group without locations, a bad address
    └── Forbidden       a subscription to a location or group the user may not see

and :class:`server.notify.Permanent` from :func:`~server.reports.mail.report_message` (sending).
See docs/architecture.md, "Acting on feedback".
"""
