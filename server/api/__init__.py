"""The HTTP API: routes (:mod:`server.api.routes`, one router per resource), FastAPI dependencies that apply
:mod:`server.auth` to requests (:mod:`server.api.deps`), the one table mapping library errors to answers
(:mod:`server.api.errors`), the body-size limit and Prometheus metrics."""
