"""The migrated schema agrees with the tables queries use; health and OpenAPI are served."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from server import __version__
from server.db import metadata


def test_migrated_schema_matches_the_table_definitions(engine, client):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)

    assert diff == []


def test_migration_creates_every_table_and_records_its_revision(engine, client):
    tables = set(inspect(engine).get_table_names())

    assert tables == {
        "alembic_version", "locations", "kiosks", "api_keys", "taps", "rollups", "pair_codes", "pair_failures",
        "groups", "users", "user_locations", "user_groups", "sessions", "daily_rollups", "filtered_rollups",
        "score_rollups", "score_sums", "login_throttle", "alert_rules", "alerts", "webhooks", "notifications", "leases",
        "targets", "subscriptions", "report_runs", "touchpoints", "group_locations", "audit_log",
    }  # fmt: skip
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0012"


def test_creating_the_app_twice_on_one_database_is_harmless(settings, location):
    from server.app import create_app

    again = create_app(settings)

    with again.state.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == "0012"
    again.state.engine.dispose()


def test_healthz_answers_ok_with_the_version(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": __version__}


def test_openapi_documents_the_taps_endpoint_with_batch_result(client):
    schema = client.get("/openapi.json").json()

    post = schema["paths"]["/api/v1/taps"]["post"]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/BatchResult"}
    assert {"401", "413", "422"} <= set(post["responses"])
    assert set(schema["components"]["schemas"]["BatchResult"]["properties"]) == {
        "accepted", "duplicates", "conflicts", "server_time",
    }  # fmt: skip
    assert "/api/v1/kiosk/config" in schema["paths"]
    assert "/api/v1/locations/{location_id}/summary" in schema["paths"]
