"""The `smilepost` command: every command documented, bad arguments answered with what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from server.cli import app
from tests.support.live import Cli

README = (Path(__file__).parents[2] / "README.md").read_text()


def _commands(group: typer.Typer, prefix: str = "smilepost") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for info in group.registered_commands:
        found.append((f"{prefix} {info.name or info.callback.__name__}", info.callback))  # type: ignore[union-attr]
    for sub in group.registered_groups:
        found += _commands(sub.typer_instance, f"{prefix} {sub.name}")  # type: ignore[arg-type]
    return found


COMMANDS = _commands(app)


def test_the_cli_has_exactly_the_documented_commands() -> None:
    assert sorted(name for name, _ in COMMANDS) == [
        "smilepost alert add",
        "smilepost alert disable",
        "smilepost alert list",
        "smilepost alert subscribe",
        "smilepost alert unsubscribe",
        "smilepost apikey create",
        "smilepost apikey list",
        "smilepost apikey revoke",
        "smilepost channel add",
        "smilepost channel list",
        "smilepost channel revoke",
        "smilepost db purge",
        "smilepost db rebuild-rollups",
        "smilepost db upgrade",
        "smilepost demo",
        "smilepost group add",
        "smilepost group add-child",
        "smilepost group add-location",
        "smilepost group list",
        "smilepost group remove-location",
        "smilepost kiosk enroll",
        "smilepost kiosk list",
        "smilepost kiosk move",
        "smilepost kiosk pair-code",
        "smilepost kiosk rename",
        "smilepost kiosk revoke",
        "smilepost kiosk run",
        "smilepost kiosk screenshot",
        "smilepost kiosk simulate",
        "smilepost kiosk sync",
        "smilepost location add",
        "smilepost location archive",
        "smilepost location configure",
        "smilepost location delete",
        "smilepost location export",
        "smilepost location list",
        "smilepost location rename",
        "smilepost location set-timezone",
        "smilepost location unarchive",
        "smilepost report poster",
        "smilepost report send",
        "smilepost report subscribe",
        "smilepost report timezone",
        "smilepost report unsubscribe",
        "smilepost server",
        "smilepost target set",
        "smilepost user add",
        "smilepost user delete",
        "smilepost user disable",
        "smilepost user enable",
        "smilepost user list",
        "smilepost user passwd",
        "smilepost webhook add",
        "smilepost webhook list",
        "smilepost webhook revoke",
        "smilepost worker",
    ]


@pytest.mark.parametrize("name,callback", COMMANDS, ids=[name for name, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(name: str, callback: object) -> None:
    assert (callback.__doc__ or "").strip(), f"{name} has no help text"
    assert f"`{name}" in README, f"{name} is missing from README.md"


@pytest.mark.parametrize(
    "args,expected",
    [
        (["location", "add", "Gate", "--timezone", "Mars/Olympus"], "expected an IANA name such as 'Europe/Oslo'"),
        (["location", "add", "Gate", "--timezone", "Europe/Oslo", "--scale", "7"], "'7' is not one of '3', '4', '5'"),
        (["location", "add", "Gate"], "Missing option '--timezone'"),
        (["kiosk", "enroll", "--location", "42"], "location 42 does not exist"),
        (["kiosk", "enroll", "--location", "x"], "Invalid value for '--location': Input should be a valid integer"),
        (
            ["kiosk", "simulate", "--taps", "0", "--token", "t"],
            "Invalid value for '--taps': Input should be greater than or equal to 1",
        ),
        (["server", "--port", "70000"], "Invalid value for '--port': Input should be less than or equal to 65535"),
    ],
)
def test_bad_arguments_print_what_was_expected(cli: Cli, args: list[str], expected: str) -> None:
    result = cli.run(*args, check=False)
    assert result.returncode == 2
    assert expected in _plain(result.stderr), result.stderr


def _plain(text: str) -> str:
    """Error text without rich's box drawing and line wrapping."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def test_location_add_prints_json_with_the_new_id(cli: Cli) -> None:
    first = cli.json("location", "add", "Security A", "--timezone", "Europe/Oslo", "--json")
    second = cli.json("location", "add", "Security B", "--timezone", "Asia/Kathmandu", "--scale", "3", "--json")
    assert (first, second) == ({"id": 1}, {"id": 2})


def test_enroll_prints_a_token_that_is_not_stored_in_clear(cli: Cli) -> None:
    cli.json("location", "add", "Security A", "--timezone", "Europe/Oslo", "--json")
    kiosk = cli.json("kiosk", "enroll", "--location", "1", "--json")
    token = str(kiosk["token"])
    assert token.startswith("spk_") and len(token) > 40
    database = (cli.data_dir / "smilepost.db").read_bytes()
    wal = cli.data_dir / "smilepost.db-wal"
    assert token.encode() not in database + (wal.read_bytes() if wal.exists() else b"")
