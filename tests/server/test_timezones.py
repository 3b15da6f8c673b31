"""Location time zones: exactly the IANA names, never a host-dependent one, and a clear message with close
matches for any other (issue #10) — in the library, the CLI and the admin form."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from server import InvalidInput
from server.auth import accounts
from server.db import locations
from server.locations import check_timezone

PASSWORD = "correct horse battery"
SMILEPOST = str(Path(sys.executable).with_name("smilepost"))
NO_MATCH = "expected an IANA name such as 'Europe/Oslo'"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Europe", r"^unknown time zone 'Europe': did you mean (Europe/\w+, )*Europe/\w+ or Europe/\w+\?$"),
        ("Europe/", r"^unknown time zone 'Europe/': did you mean (Europe/\w+, )*Europe/\w+ or Europe/\w+\?$"),
        ("Europe/Olso", r"^unknown time zone 'Europe/Olso': did you mean Europe/Oslo\?$"),
        ("europe/oslo", r"^unknown time zone 'europe/oslo': did you mean Europe/Oslo\?$"),
        ("localtime", f"^unknown time zone 'localtime': {NO_MATCH}$"),  # the host's zone, whatever it is
        ("posixrules", f"^unknown time zone 'posixrules': {NO_MATCH}$"),
        ("Factory", f"^unknown time zone 'Factory': {NO_MATCH}$"),
        ("right/UTC", r"^unknown time zone 'right/UTC': did you mean Etc/UTC\?$"),  # leap seconds: not civil time
        ("posix/Europe/Oslo", r"^unknown time zone 'posix/Europe/Oslo': did you mean Europe/Oslo\?$"),
        ("../etc/passwd", f"^unknown time zone '../etc/passwd': {NO_MATCH}$"),
        ("/etc/localtime", f"^unknown time zone '/etc/localtime': {NO_MATCH}$"),
        ("", f"^unknown time zone '': {NO_MATCH}$"),
        ("Mars/Olympus_Mons", f"^unknown time zone 'Mars/Olympus_Mons': {NO_MATCH}$"),
        ("Europe/Oslo\x00", r"^unknown time zone 'Europe/Oslo\\x00': did you mean Europe/Oslo\?$"),
    ],
)
def test_a_name_that_is_not_an_iana_zone_is_refused_with_close_matches(name, message):
    with pytest.raises(InvalidInput) as caught:
        check_timezone(name)

    assert re.search(message, str(caught.value)), str(caught.value)


@pytest.mark.parametrize(
    "name",
    ["Europe/Oslo", "UTC", "Etc/UTC", "Etc/GMT+5", "Asia/Calcutta", "Asia/Kolkata", "Asia/Kathmandu",
     "America/St_Johns", "America/Argentina/Buenos_Aires", "Pacific/Chatham", "US/Pacific"],
)  # fmt: skip
def test_an_iana_zone_or_alias_is_accepted(name):
    assert check_timezone(name).key == name


def test_the_cli_refuses_a_folder_as_a_zone_with_the_message_and_no_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMILEPOST_")}
    result = subprocess.run(
        [SMILEPOST, "location", "add", "X", "--timezone", "Europe"],
        env={**env, "SMILEPOST_DATA_DIR": str(tmp_path)}, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    plain = " ".join(result.stderr.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())
    assert result.returncode == 2, result.stderr
    assert "unknown time zone 'Europe': did you mean Europe/" in plain
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("timezone", ["Europe", "localtime", "Europe/Olso"])
def test_the_admin_form_gives_a_folder_as_a_zone_back_with_the_message(client, engine, timezone):
    with engine.begin() as conn:
        accounts.add_user(conn, email="admin@example.com", password=PASSWORD, role="admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    form = {"email": "admin@example.com", "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/admin").text)
    assert token

    response = client.post("/admin/locations", data={"csrf_token": token.group(1), "name": "X", "timezone": timezone})

    assert response.status_code in {200, 422}, response.text[:2000]  # the form page, whichever status it uses
    assert 'id="new-location"' in response.text
    assert f"unknown time zone &#39;{timezone}&#39;" in response.text
    with engine.connect() as conn:
        assert conn.execute(select(locations.c.id)).all() == []
