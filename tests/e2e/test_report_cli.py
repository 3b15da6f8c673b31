"""Reports the way operators use them: `smilepost report send|subscribe|timezone|poster` against a real
`smilepost server` (uvicorn on 127.0.0.1, SQLite) whose delivery worker sends the report to a real SMTP server
(aiosmtpd on 127.0.0.1): the e-mail arrives with the HTML body and the PDF, and the figures the command prints are the
summary API's. The e-mail's HTML is also shown in Chromium (when installed) for test-output/reports/report-email.png.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from server.notify.signing import verify
from server.reports.periods import last_complete
from tests.support import pdfs
from tests.support.browser import CHROMIUM, chromium
from tests.support.live import SMILEPOST, Cli, LiveServer, launch_server, setup_location
from tests.support.receivers import SmtpReceiver, WebhookReceiver, wait_until

OSLO = "Europe/Oslo"
BOOT = "3f0c6a9d1b4f3e8a7c6b5d4e3f2a1b5e"


@dataclass
class MailCli(Cli):
    """`smilepost` on one data folder with e-mail settings (the server it starts shares them)."""

    extra: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra}


@pytest.fixture
def smtp():
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def mail_cli(tmp_path: Path, smtp: SmtpReceiver) -> MailCli:
    return MailCli(tmp_path / "data", extra={
        "SMILEPOST_SMTP_URL": smtp.url(), "SMILEPOST_MAIL_FROM": "reports@smilepost.test",
        "SMILEPOST_PUBLIC_URL": "https://smile.example", "SMILEPOST_DELIVER_SECONDS": "0.2",
    })  # fmt: skip


@pytest.fixture
def server(mail_cli: MailCli, tmp_path: Path):
    started: LiveServer = launch_server(mail_cli.env, tmp_path / "server.log")
    yield started
    started.stop()


def post_last_weeks_taps(url: str, token: str, scores: list[int]) -> tuple[str, str]:
    """Taps at noon (Oslo) on the Tuesday of the last complete ISO week; that week's local dates [start, end)."""
    week = last_complete("week", OSLO, datetime.now(UTC))
    noon = datetime.combine(week.start + timedelta(days=1), time(12), tzinfo=ZoneInfo(OSLO))
    taps = [
        {"id": str(uuid.uuid4()), "seq": i + 1, "question_id": "main", "scale": 5, "score": score,
         "tapped_at": (noon + timedelta(minutes=2 * i)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
         "mono_ns": 1_000_000 * (i + 1), "boot_id": BOOT, "followup": None,
         "comment": "Lovely staff <3" if i == 0 else None, "flags": []}
        for i, score in enumerate(scores)
    ]  # fmt: skip
    body = {"sent_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "boot_id": BOOT,
            "mono_ns": 1_000_000 * (len(scores) + 1), "taps": taps}  # fmt: skip
    answer = httpx.post(f"{url}/api/v1/taps", json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return week.start.isoformat(), week.end.isoformat()


def add_manager(cli: Cli, email: str, location_id: int) -> None:
    subprocess.run([SMILEPOST, "user", "add", email, "--role", "manager", "--location", str(location_id),
                    "--password-stdin"], input="correct horse battery\n", env=cli.env, check=True,
                   capture_output=True, text=True)  # fmt: skip


def test_report_send_delivers_the_email_with_the_pdf_and_the_apis_figures(mail_cli, server, smtp, tmp_path):
    location_id, token, key = setup_location(mail_cli)
    start, end = post_last_weeks_taps(server.url, token, [5, 5, 4, 4, 3, 2, 1, 5, 4, 5])
    pdf_file = tmp_path / "report.pdf"

    sent = mail_cli.json("report", "send", "--location", str(location_id), "--period", "week", "--to",
                         "lead@example.com", "--pdf", str(pdf_file), "--json")  # fmt: skip

    summary = httpx.get(f"{server.url}/api/v1/locations/{location_id}/summary", params={"start": start, "end": end},
                        headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    assert (sent["period_start"], sent["period_end"], sent["responses"]) == (start, end, 10)
    figures = sent["figures"]
    assert isinstance(figures, dict)
    for name in ("happy_index", "csat", "negative"):
        assert figures[name] == {k: summary[name][k] for k in ("value", "low", "high", "n")}
    wait_until(lambda: len(smtp.messages) == 1, timeout=30, what="the report e-mail")
    (message,) = smtp.messages
    assert message["Subject"].startswith("Weekly report for Oslo Security A: ")
    html = message.get_body(("html",)).get_content()
    assert "Lovely staff &lt;3" in html and f'href="https://smile.example/locations/{location_id}"' in html
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content() == pdf_file.read_bytes()
    text = pdfs.text(pdf_file.read_bytes())
    # from the taps sent: faces 5,5,4,4,3,2,1,5,4,5 -> index 25 * 28 / 10, CSAT 7 of 10, negative 2 of 10
    assert (summary["happy_index"]["value"], summary["csat"]["value"], summary["negative"]["value"]) == (70, 70, 20)
    for label, name, unit in (
        ("HAPPY INDEX", "happy_index", ""),
        ("CSAT", "csat", " %"),
        ("NEGATIVE", "negative", " %"),
    ):
        figure = summary[name]
        assert f"{label} {figure['value']:.1f}{unit} 95 % CI {figure['low']:.1f}–{figure['high']:.1f}" in text, text
    assert "RESPONSES 10" in text
    if CHROMIUM.exists():  # what a mail client shows; the picture for the README
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 760, "height": 900})
            page.set_content(html)
            pdfs.PNGS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(pdfs.PNGS / "report-email.png"), full_page=True)


def test_report_subscribe_timezone_and_poster_commands(mail_cli, tmp_path):
    location_id, _, _ = setup_location(mail_cli)
    add_manager(mail_cli, "Lead@Example.com", location_id)

    subscribed = mail_cli.json("report", "subscribe", "lead@example.com", "--location", str(location_id), "--every",
                               "week", "--at", "07:30", "--json")  # fmt: skip
    zone = mail_cli.json("report", "timezone", "lead@example.com", "Asia/Tokyo", "--json")
    again = mail_cli.json("report", "subscribe", "lead@example.com", "--location", str(location_id), "--every",
                          "week", "--json")  # fmt: skip
    poster = mail_cli.json("report", "poster", "--location", str(location_id), "--out", str(tmp_path / "p.pdf"),
                           "--json")  # fmt: skip

    assert subscribed == {"id": 1, "email": "lead@example.com", "location_id": location_id, "group_id": None,
                          "every": "week", "at": "07:30", "timezone": OSLO, "webhook": None}  # fmt: skip
    assert zone == {"email": "lead@example.com", "timezone": "Asia/Tokyo", "effective": "Asia/Tokyo"}
    assert (again["id"], again["timezone"]) == (1, "Asia/Tokyo")
    data = (tmp_path / "p.pdf").read_bytes()
    assert poster["bytes"] == len(data) and pdfs.pages(data) == [pytest.approx(pdfs.A4_POINTS, abs=0.1)]
    assert "Oslo Security A" in pdfs.text(data)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["report", "send", "--location", "1", "--period", "year", "--to", "a@b.example"], "'year' is not one of"),
        (["report", "send", "--location", "1", "--group", "1", "--period", "week", "--to", "a@b.example"],
         "one location (--location) or one group (--group)"),
        (["report", "send", "--location", "1", "--period", "week", "--to", "nobody"],
         "--to: expected an e-mail address or webhook:ID, got 'nobody'"),
        (["report", "send", "--location", "1", "--period", "week", "--to", "webhook:7"], "webhook 7 does not exist"),
        (["report", "subscribe", "nobody@example.com", "--location", "1", "--every", "week"], "no user"),
        (["report", "poster", "--location", "42", "--out", "x.pdf"], "location 42 does not exist"),
    ],
)  # fmt: skip
def test_bad_report_arguments_say_what_was_expected(mail_cli, args, expected):
    result = mail_cli.run(*args, check=False)

    assert result.returncode == 2
    assert expected in " ".join(result.stderr.translate({ord(c): " " for c in "│╭╮╰╯─"}).split()), result.stderr


def test_json_of_report_send_is_one_line(mail_cli):
    location_id, _, _ = setup_location(mail_cli)

    out = mail_cli.run("report", "send", "--location", str(location_id), "--period", "day", "--to", "a@b.example",
                       "--json").stdout  # fmt: skip

    assert out.count("\n") == 1 and json.loads(out)["responses"] == 0


def test_report_send_to_a_slack_webhook_and_a_subscription_only_an_admin_may_make(mail_cli, server):
    location_id, token, key = setup_location(mail_cli)
    start, end = post_last_weeks_taps(server.url, token, [5, 4, 4, 1, 2])
    add_manager(mail_cli, "lead@example.com", location_id)
    with WebhookReceiver() as receiver:
        hook = mail_cli.json("webhook", "add", receiver.url, "--format", "slack", "--json")

        sent = mail_cli.json("report", "send", "--location", str(location_id), "--period", "week", "--to",
                             f"webhook:{hook['id']}", "--json")  # fmt: skip
        wait_until(lambda: len(receiver.requests) == 1, timeout=30, what="the report webhook")

    (request,) = receiver.requests
    assert verify(str(hook["secret"]), request.headers["x-smilepost-signature"], request.body, datetime.now(UTC))
    assert request.headers["x-smilepost-event"] == "report"
    summary = httpx.get(f"{server.url}/api/v1/locations/{location_id}/summary", params={"start": start, "end": end},
                        headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    assert (sent["period_start"], sent["responses"], sent["to"]) == (start, 5, f"webhook:{hook['id']}")
    message = json.loads(request.body)
    assert message["text"].startswith("Weekly report for Oslo Security A: ")
    index = sum(25 * (score - 1) for score in [5, 4, 4, 1, 2]) / 5  # 55
    assert summary["happy_index"]["value"] == pytest.approx(index)
    fields = [field["text"] for field in message["blocks"][1]["fields"]]
    assert f"*Happy Index*\n{index:.0f} (" in " ".join(fields) and b"%PDF" not in request.body
    refused = mail_cli.run("report", "subscribe", "lead@example.com", "--location", str(location_id), "--every",
                           "week", "--webhook", str(hook["id"]), check=False)  # fmt: skip
    assert refused.returncode == 2 and "only an admin" in refused.stderr
