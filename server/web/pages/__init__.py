"""Dashboard pages, one router per page group: sign-in (``auth``), the overview, a location, the kiosk fleet and the
admin pages."""
