"""The server's CLI in-process (typer's CliRunner) on a fresh SQLite database under a test's tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from server import cli


def cli_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *unset: str) -> Callable[..., Any]:
    """``run(*args, input=None)`` -> the command's result (``input``: its standard input), on a fresh SQLite database
    in tmp_path (``SMILEPOST_DATABASE_URL`` and the variables named in ``unset`` taken out of the environment)."""
    for name in ("SMILEPOST_DATABASE_URL", *unset):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SMILEPOST_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(cli.app, list(args), input=input)

    return invoke


def said(result: Any) -> str:
    """What a command printed, as one line: rich's error box (its borders) taken out, runs of whitespace as one space,
    so a message wrapped across the box's lines can be matched whole."""
    return " ".join(result.output.replace("│", " ").split())
