"""Dashboard pages, one router per page group: sign-in (``auth``), the overview, a location, the kiosk fleet, the
alerts (``alerts``), a user's own alert and report e-mails (``subscriptions``), the admin pages (``admin``) and the
admin pages of alert rules and notifications (``admin_alerts``)."""
