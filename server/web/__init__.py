"""The manager dashboard: server-rendered pages (:mod:`server.web.pages`, one router per page group), the settings
form's parsing (:mod:`server.web.forms`), one-shot messages (:mod:`server.web.flash`), rendering and template
filters (:mod:`server.web.render`), Jinja2 templates and static files (our CSS and JS, Chart.js vendored from npm).

Pages only parse the request, check access and call the library (:mod:`server.analytics`, :mod:`server.fleet`,
:mod:`server.locations`, :mod:`server.auth`); every number on a page comes from there and :mod:`shared.scores`.
"""
