"""The server's secret key, webhook secrets derived from it, and X-Smilepost-Signature (server.notify.signing)."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from server import InvalidInput
from server.notify.signing import key_file, server_key, sign, verify, webhook_secret
from server.settings import Settings

SECRET = webhook_secret(b"k" * 32, 1)
BODY = b'{"event":"alert.opened","alert_id":17}'
T = 1_773_505_207
NOW = datetime.fromtimestamp(T, UTC)


def test_signature_header_is_t_and_hmac_of_t_dot_body():
    header = sign(SECRET, BODY, T)

    expected = hmac.new(SECRET.encode(), f"{T}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header == f"t={T},sha256={expected}"
    assert re.fullmatch(r"t=\d+,sha256=[0-9a-f]{64}", header)


def test_signature_verifies_with_its_secret_and_body():
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, NOW)


@pytest.mark.parametrize(
    ("case", "secret", "body", "now"),
    [
        ("tampered body", SECRET, BODY.replace(b"17", b"18"), NOW),
        ("wrong secret", webhook_secret(b"k" * 32, 2), BODY, NOW),
        ("stale: a replay 6 minutes later", SECRET, BODY, NOW + timedelta(seconds=301)),
        ("from the future", SECRET, BODY, NOW - timedelta(seconds=301)),
    ],
)
def test_signature_refused(case, secret, body, now):
    assert not verify(secret, sign(SECRET, BODY, T), body, now), case


def test_signature_accepted_within_tolerance():
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, NOW + timedelta(seconds=299))
    assert verify(SECRET, sign(SECRET, BODY, T), BODY, NOW + timedelta(seconds=30), tolerance=60)
    assert not verify(SECRET, sign(SECRET, BODY, T), BODY, NOW + timedelta(seconds=61), tolerance=60)


@pytest.mark.parametrize(
    "header",
    ["", "sha256=abc", f"t={T}", f"t=abc,sha256={'0' * 64}", f"t={T},t={T},sha256={'0' * 64}", "t=²,sha256=x",
     f"t={'9' * 40},sha256=00", f"t={T},sha256=é"],
)  # fmt: skip
def test_malformed_signature_header_is_not_valid_and_never_raises(header):
    assert not verify(SECRET, header, BODY, NOW)


def test_any_of_several_sha256_values_may_match():
    """A receiver rotating secrets may be sent (or compute) more than one; one match is enough."""
    good = sign(SECRET, BODY, T).split(",")[1]
    assert verify(SECRET, f"t={T},sha256={'0' * 64},{good}", BODY, NOW)


def test_webhook_secret_is_derived_from_key_and_id():
    first = webhook_secret(b"a" * 32, 1)
    assert first == webhook_secret(b"a" * 32, 1)
    assert first != webhook_secret(b"a" * 32, 2)
    assert first != webhook_secret(b"b" * 32, 1)
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", first)


# --- the server's key ----------------------------------------------------------------------------------------


def test_secret_key_file_is_created_0600_and_reused(tmp_path):
    data_dir = tmp_path / "data"
    first = server_key(Settings(data_dir=data_dir))

    path = data_dir / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert re.fullmatch(rb"[0-9a-f]{64}", first)  # 32 random bytes, as hex text
    assert server_key(Settings(data_dir=data_dir)) == first  # read back, not made again
    assert path.read_text() == first.decode() + "\n"
    assert [p.name for p in data_dir.iterdir()] == ["secret.key"]  # no temporary file left behind


def test_configured_secret_key_wins_and_no_file_is_made(tmp_path):
    key = server_key(Settings(data_dir=tmp_path, secret_key=SecretStr("x" * 40)))

    assert key == b"x" * 40
    assert not (tmp_path / "secret.key").exists()


def test_the_key_file_content_as_secret_key_gives_the_same_webhook_secrets(tmp_path):
    """Moving from one server to several: SMILEPOST_SECRET_KEY=$(cat data/secret.key) changes no webhook secret."""
    from_file = server_key(Settings(data_dir=tmp_path))
    text = (tmp_path / "secret.key").read_text()
    from_setting = server_key(Settings(data_dir=tmp_path / "other", secret_key=SecretStr(text)))

    assert webhook_secret(from_file, 7) == webhook_secret(from_setting, 7)


def test_unshared_key_on_a_shared_database_is_warned_about_once(tmp_path, caplog):
    settings = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://db.example/smilepost")
    first = server_key(settings)
    assert server_key(settings) == first

    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "set SMILEPOST_SECRET_KEY" in warnings[0]


def test_short_secret_key_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="at least 32"):
        server_key(Settings(data_dir=tmp_path, secret_key=SecretStr("short")))


def test_empty_key_file_is_refused_not_replaced(tmp_path):
    (tmp_path / "secret.key").write_text("")
    with pytest.raises(InvalidInput, match="holds no key"):
        key_file(tmp_path)


def test_processes_starting_together_share_one_new_key(tmp_path):
    keys: list[bytes] = []
    start = threading.Barrier(8)

    def read() -> None:
        start.wait()
        keys.append(key_file(tmp_path / "shared"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(keys) == 8 and len(set(keys)) == 1
