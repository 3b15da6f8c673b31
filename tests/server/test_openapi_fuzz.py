"""Attack: schemathesis generates requests from the server's own OpenAPI schema, with real credentials.

Every operation, kiosk and manager alike: no 5xx ever, invalid input refused with a documented 4xx, every
answer conforms to the documented status codes, content types and response schemas.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.result import Err
from sqlalchemy import Engine

from server.auth import keys, kiosk_tokens

# Not checked: "every schema-valid request is accepted". Some rules cross fields and cannot be said in
# OpenAPI (a score must lie on its tap's scale; a summary's end must follow its start), so such requests
# are rightly refused with a 422. Everything else is checked: no 5xx, invalid data refused, answers on schema.

pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning"), pytest.mark.slow]


@pytest.fixture
def credentials(engine: Engine, kiosk: kiosk_tokens.Enrolment, api_key: str) -> Callable[[str, str], str | None]:
    """The bearer credential a real caller of an operation would hold."""
    with engine.begin() as conn:
        admin_key = keys.create_api_key(conn, name="fuzz admin", scope="admin")

    def pick(method: str, path: str) -> str | None:
        if path.startswith(("/api/v1/taps", "/api/v1/kiosk/")):
            return kiosk.token
        if path.startswith(("/api/v1/locations", "/api/v1/comments")):
            return api_key if method == "GET" else admin_key
        return None

    return pick


def test_no_operation_errors_or_answers_off_schema(app: FastAPI, credentials: Callable[[str, str], str | None]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation schemathesis could not load from the schema
        operations.append(result.ok())
    assert len(operations) >= 6

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            token = credentials(case.method.upper(), case.path)
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"} if token else {},
                excluded_checks=[positive_data_acceptance],
            )

        try:
            check()
        except Exception as exc:
            raise AssertionError(f"{operation.method.upper()} {operation.path}: {exc}") from exc
