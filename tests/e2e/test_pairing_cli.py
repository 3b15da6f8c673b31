"""Kiosk setup through the real `smilepost` command: pairing codes, revoking, admin keys, location config;
and one kiosk paired over HTTP against a real server whose token then syncs a tap."""

from __future__ import annotations

import hashlib
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kiosk.store import Store
from kiosk.sync import Syncer, make_client
from server.db import api_keys, kiosks, locations, make_engine
from shared.pins import verify_pin
from shared.protocol import LocationConfig
from tests.support.live import SMILEPOST, Cli, LiveServer

pytestmark = pytest.mark.e2e

CONFIG = {
    "default_language": "nb",
    "texts": {"nb": {"question": "Hvordan var det?", "thanks": "Takk!"}},
    "followup": {"negative_reasons": ["queue"], "positive_reasons": []},
}


def _location(cli: Cli) -> int:
    return int(str(cli.json("location", "add", "Oslo Security A", "--timezone", "Europe/Oslo", "--json")["id"]))


def _rows(cli: Cli, query: object) -> list[tuple[object, ...]]:
    engine = make_engine(f"sqlite:///{cli.data_dir / 'smilepost.db'}")
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(query)]  # type: ignore[call-overload]
    finally:
        engine.dispose()


def _database_bytes(cli: Cli) -> bytes:
    files = [cli.data_dir / "smilepost.db", cli.data_dir / "smilepost.db-wal"]
    return b"".join(f.read_bytes() for f in files if f.exists())


def _plain(text: str) -> str:
    """Error text without rich's box drawing and line wrapping."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def test_pair_code_prints_eight_digits_valid_for_fifteen_minutes_stored_only_hashed(cli: Cli) -> None:
    location = _location(cli)
    before = datetime.now(UTC)

    printed = cli.json("kiosk", "pair-code", "--location", str(location), "--name", "lane 3", "--json")

    after = datetime.now(UTC)
    assert set(printed) == {"code", "expires_at"}
    code = str(printed["code"])
    assert len(code) == 8 and code.isdigit()
    assert str(printed["expires_at"]).endswith("Z")
    expires = datetime.fromisoformat(str(printed["expires_at"]))
    assert before + timedelta(minutes=15) <= expires <= after + timedelta(minutes=15)
    stored = _database_bytes(cli)
    assert code.encode() not in stored
    assert hashlib.sha256(code.encode()).hexdigest().encode() in stored


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["kiosk", "pair-code", "--location", "42"], "location 42 does not exist"),
        (["kiosk", "pair-code"], "Missing option '--location'"),
        (["kiosk", "revoke", "nope"], "kiosk nope does not exist"),
        (["location", "configure", "42"], "location 42 does not exist"),
        (["location", "configure", "1", "--pin", "12"], "pin: a PIN is 6 to 12 digits"),
        (["location", "configure", "1", "--file", "/nonexistent/config.json"], "cannot read /nonexistent/config.json"),
    ],
)
def test_bad_kiosk_setup_arguments_exit_2_saying_what_was_wrong(cli: Cli, args: list[str], expected: str) -> None:
    _location(cli)

    result = cli.run(*args, check=False)

    assert result.returncode == 2
    assert expected in _plain(result.stderr), result.stderr


def test_kiosk_revoke_revokes_the_token(cli: Cli) -> None:
    location = _location(cli)
    kiosk_id = str(cli.json("kiosk", "enroll", "--location", str(location), "--json")["kiosk_id"])

    printed = cli.json("kiosk", "revoke", kiosk_id, "--json")

    assert printed == {"kiosk_id": kiosk_id, "revoked": True}
    [(revoked_at,)] = _rows(cli, select(kiosks.c.revoked_at).where(kiosks.c.id == kiosk_id))
    assert revoked_at is not None


@pytest.mark.parametrize(("flags", "scope"), [([], "read"), (["--admin"], "admin")], ids=["read", "admin"])
def test_apikey_create_makes_a_read_or_admin_key(cli: Cli, flags: list[str], scope: str) -> None:
    printed = cli.json("apikey", "create", "--name", "installer", *flags, "--json")

    assert printed["scope"] == scope and str(printed["key"]).startswith("spa_")
    assert _rows(cli, select(api_keys.c.name, api_keys.c.scope)) == [("installer", scope)]


def test_location_configure_from_a_file_stores_and_prints_the_config(cli: Cli, tmp_path: Path) -> None:
    location = _location(cli)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))

    printed = cli.json("location", "configure", str(location), "--file", str(path), "--json")

    expected = LocationConfig.model_validate(CONFIG).model_dump(mode="json")
    assert printed == expected
    [(stored,)] = _rows(cli, select(locations.c.config).where(locations.c.id == location))
    assert LocationConfig.model_validate_json(str(stored)).model_dump(mode="json") == expected


def test_location_configure_reads_stdin_for_a_dash(cli: Cli) -> None:
    location = _location(cli)

    result = subprocess.run(
        [SMILEPOST, "location", "configure", str(location), "--file", "-", "--json"],
        input=json.dumps(CONFIG), env=cli.env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["texts"] == CONFIG["texts"]


def test_location_configure_names_each_invalid_field_and_stores_nothing(cli: Cli, tmp_path: Path) -> None:
    location = _location(cli)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"followup": {"negative_reasons": list("abcdefg")}, "thank_you_seconds": -1}))

    result = cli.run("location", "configure", str(location), "--file", str(path), check=False)

    assert result.returncode == 2
    message = _plain(result.stderr)
    assert "followup.negative_reasons: List should have at most 6 items after validation, not 7" in message
    assert "thank_you_seconds: Input should be greater than 0" in message
    assert _rows(cli, select(locations.c.config)) == [(None,)]


def test_location_configure_with_a_pin_stores_only_its_hash_and_shows_set(cli: Cli, tmp_path: Path) -> None:
    location = _location(cli)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG))

    printed = cli.json("location", "configure", str(location), "--file", str(path), "--pin", "80417253", "--json")
    again = cli.json("location", "configure", str(location), "--json")  # no options: shows it

    assert printed["admin_pin_hash"] == again["admin_pin_hash"] == "set"
    assert printed["texts"] == again["texts"] == CONFIG["texts"]
    assert b"80417253" not in _database_bytes(cli)
    [(stored,)] = _rows(cli, select(locations.c.config))
    pin_hash = LocationConfig.model_validate_json(str(stored)).admin_pin_hash
    assert pin_hash is not None and verify_pin("80417253", pin_hash)


def test_a_kiosk_paired_over_http_syncs_a_tap_with_its_new_token(
    cli: Cli, live_server: LiveServer, tmp_path: Path
) -> None:
    location = _location(cli)
    code = str(cli.json("kiosk", "pair-code", "--location", str(location), "--json")["code"])

    paired = httpx.post(f"{live_server.url}/api/v1/pair", json={"code": code, "name": "lane 3"})
    again = httpx.post(f"{live_server.url}/api/v1/pair", json={"code": code, "name": "lane 4"})

    assert paired.status_code == 200, paired.text
    assert (again.status_code, again.json()) == (403, {"message": "invalid or expired pairing code"})
    token = paired.json()["token"]
    with Store.open(tmp_path / "kiosk") as store, make_client(live_server.url, token) as client:
        store.record_tap(5, 5)
        syncer = Syncer(store, client)
        config = syncer.fetch_config()
        report = syncer.send_pending()
        assert store.counts().pending == 0
    assert config is not None
    assert (config.kiosk_id, config.location_id, config.location_name) == (
        paired.json()["kiosk_id"], location, "Oslo Security A",
    )  # fmt: skip
    assert (report.sent, report.accepted) == (1, 1)
    assert _rows(cli, select(kiosks.c.id, kiosks.c.name, kiosks.c.location_id)) == [
        (paired.json()["kiosk_id"], "lane 3", location)
    ]
