"""Render every kiosk screen offscreen to PNG files, with a built-in demo config (``smilepost kiosk screenshot``).

Run as its own process (``python -m kiosk.ui.screenshots --out DIR``): a Kivy window is one per process and the
offscreen SDL driver must be chosen before Kivy is imported, so :func:`render` starts this module in a
subprocess with that environment. Nothing touches the network: the sync worker gets a transport that refuses
every connection, so the status label reads "offline".

Writes ask, followup, comment, aspect (the first aspect question of the demo's sequence), thanks, nps, attract,
closed, pin, admin and pairing PNGs.
Raises (in :func:`render`) RuntimeError if the subprocess fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kiosk.ui.clockscript import ClockScript
from shared.pins import hash_pin
from shared.protocol import SCALES, CommentSettings, FollowUp, KioskConfig, Question

SCREENS = ("ask", "followup", "comment", "aspect", "thanks", "nps", "attract", "closed", "pin", "admin", "pairing")
DEMO_PIN = "246813"

_REASONS_NEGATIVE = ["queue_time", "staff", "cleanliness", "security_check", "information", "other"]
_REASONS_POSITIVE = ["fast", "friendly_staff", "clean", "well_organised"]
_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "question": "How was your experience at security today?",
        "thanks": "Thank you!",
        "followup_question": "What was the main reason?",
        "comment_prompt": "Anything you would like to add?",
        "closed": "Security is closed right now.\nWe open again at 05:00.",
        "attract": "How was security today?\nTouch the screen to tell us.",
        "reason.queue_time": "Waiting time",
        "reason.staff": "Staff",
        "reason.cleanliness": "Cleanliness",
        "reason.security_check": "The security check",
        "reason.information": "Information and signs",
        "reason.other": "Something else",
        "reason.fast": "Quick",
        "reason.friendly_staff": "Friendly staff",
        "reason.clean": "Clean",
        "reason.well_organised": "Well organised",
    },
    "nb": {
        "question": "Hvordan var opplevelsen i sikkerhetskontrollen i dag?",
        "thanks": "Tusen takk!",
        "followup_question": "Hva var den viktigste grunnen?",
        "comment_prompt": "Vil du legge til noe?",
        "closed": "Sikkerhetskontrollen er stengt.\nVi åpner igjen kl. 05:00.",
        "attract": "Hvordan var sikkerhetskontrollen?\nTrykk på skjermen og si det til oss.",
        "skip": "Nei takk",
        "comment_button": "Skriv en kommentar",
        "send": "Send",
        "cancel": "Avbryt",
        "nps_low": "Svært lite sannsynlig",
        "nps_high": "Svært sannsynlig",
        "reason.queue_time": "Ventetid",
        "reason.staff": "Personalet",
        "reason.cleanliness": "Renhold",
        "reason.security_check": "Selve kontrollen",
        "reason.information": "Informasjon og skilting",
        "reason.other": "Noe annet",
        "reason.fast": "Raskt",
        "reason.friendly_staff": "Hyggelig personale",
        "reason.clean": "Rent",
        "reason.well_organised": "Godt organisert",
    },
    "de": {
        "question": "Wie war Ihre Erfahrung bei der Sicherheitskontrolle heute?",
        "thanks": "Vielen Dank!",
        "followup_question": "Was war der wichtigste Grund?",
        "comment_prompt": "Möchten Sie noch etwas sagen?",
        "closed": "Die Sicherheitskontrolle ist geschlossen.\nWir öffnen wieder um 05:00 Uhr.",
        "attract": "Wie war die Sicherheitskontrolle?\nBerühren Sie den Bildschirm.",
        "skip": "Nein, danke",
        "comment_button": "Kommentar schreiben",
        "send": "Senden",
        "cancel": "Abbrechen",
        "nps_low": "Sehr unwahrscheinlich",
        "nps_high": "Sehr wahrscheinlich",
        "reason.queue_time": "Wartezeit",
        "reason.staff": "Personal",
        "reason.cleanliness": "Sauberkeit",
        "reason.security_check": "Die Kontrolle selbst",
        "reason.information": "Informationen und Schilder",
        "reason.other": "Etwas anderes",
        "reason.fast": "Schnell",
        "reason.friendly_staff": "Freundliches Personal",
        "reason.clean": "Sauber",
        "reason.well_organised": "Gut organisiert",
    },
}
_COMMENTS = {"en": "The queue was long", "nb": "Lang kø i dag", "de": "Die Schlange war lang"}
# The sequence after the main question: two aspect questions (#13), on 5 faces and on 0-10.
_ASPECTS = [
    Question(
        id="staff",
        scale=5,
        texts={
            "en": {"question": "How friendly were the staff?"},
            "nb": {"question": "Hvor hyggelig var personalet?"},
            "de": {"question": "Wie freundlich war das Personal?"},
        },
    ),
    Question(
        id="recommend",
        scale=11,
        texts={
            "en": {"question": "How likely are you to recommend this airport to a friend?"},
            "nb": {"question": "Hvor sannsynlig er det at du anbefaler denne flyplassen til en venn?"},
            "de": {"question": "Wie wahrscheinlich ist es, dass Sie diesen Flughafen weiterempfehlen?"},
        },
    ),
]


def demo_config(scale: int = 5, language: str = "en") -> KioskConfig:
    """A config with three languages, follow-up reasons, comments, two aspect questions asked in sequence after
    the main one, and an admin PIN (246813), in ``language``.

    Raises pydantic.ValidationError for a scale outside 3, 4, 5, 11 or an unknown language.
    """
    if language not in _TEXTS:
        raise ValueError(f"demo texts exist for {', '.join(_TEXTS)}, not {language!r}")
    return KioskConfig(
        kiosk_id="k-demo-0001",
        location_id=1,
        location_name="Oslo Airport, security lane 3",
        timezone="Europe/Oslo",
        scale=scale,  # type: ignore[arg-type]
        default_language=language,
        texts=_TEXTS,
        followup=FollowUp(negative_reasons=_REASONS_NEGATIVE, positive_reasons=_REASONS_POSITIVE, timeout_seconds=60),
        comment=CommentSettings(enabled=True, max_chars=200),
        questions=_ASPECTS,
        question_mode="sequence",
        question_timeout_seconds=60,
        thank_you_seconds=60,
        repeat_press_seconds=0,
        attract_after_seconds=3600,
        admin_pin_hash=hash_pin(DEMO_PIN, n=2**10),  # cheap scrypt: a demo, never served
    )


def render(out: Path, *, scale: int = 5, language: str = "en", size: tuple[int, int] = (1024, 600)) -> list[Path]:
    """Render every screen to ``out/<screen>.png`` in a fresh offscreen process; return the files written.

    Raises ValueError for a scale or language the demo config lacks, RuntimeError if rendering fails.
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}")
    demo_config(scale, language)  # fail here, not in the subprocess
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smilepost-shots-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMILEPOST_", "KIVY_", "SDL_"))}
        env.update(SDL_VIDEODRIVER="offscreen", KIVY_HOME=str(Path(tmp) / "kivy"), KIVY_NO_ARGS="1")
        env.update(KIVY_NO_FILELOG="1")
        args = ["--out", str(out), "--scale", str(scale), "--lang", language, "--size", f"{size[0]}x{size[1]}"]
        done = subprocess.run(
            [sys.executable, "-m", "kiosk.ui.screenshots", *args, "--data", str(Path(tmp) / "data")],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"rendering failed:\n{done.stderr[-3000:]}")
    return [out / f"{name}.png" for name in SCREENS]


class _Shooter(ClockScript):
    """Walks the app through every screen on Kivy's Clock, saving a PNG of each."""

    def __init__(self, app: Any, out: Path, scale: int, language: str) -> None:
        super().__init__(app)
        self.out, self.scale, self.language = out, scale, language

    def shot(self, name: str) -> None:
        from kivy.core.window import Window

        saved = Path(Window.screenshot(name=str(self.out / f"{name}.png")))
        saved.replace(self.out / f"{name}.png")

    def steps(self) -> Iterator[float]:
        app, settle = self.app, 0.25
        config = demo_config(self.scale, self.language)
        app.apply_config(config)
        app.show_question()
        yield settle
        self.shot("ask")
        app.tap(0 if self.scale == 11 else 1)
        yield settle
        self.shot("followup")
        comment = app.screens.get_screen("comment")
        app.screens.get_screen("followup").open_comment()
        for char in _COMMENTS[self.language]:
            comment.type_char(char)
        yield settle
        self.shot("comment")
        comment.send()
        yield settle
        self.shot("aspect")
        aspect = app.screens.get_screen("aspect")
        while app.screens.current == "aspect":
            aspect.skip()
        yield settle
        self.shot("thanks")
        app.apply_config(demo_config(11, self.language))
        app.show_question()
        yield settle
        self.shot("nps")
        app.apply_config(config)
        app.show_question()
        app.on_idle()
        yield settle
        self.shot("attract")
        app.apply_config(config.model_copy(update={"opening_hours": {}}))
        yield settle
        self.shot("closed")
        app.apply_config(config)
        app.show_question()
        app.admin_gesture()
        for digit in DEMO_PIN[:2]:
            app.screens.get_screen("pin").press(digit)
        yield settle
        self.shot("pin")
        app.show_admin()
        yield settle
        self.shot("admin")
        app.show_pairing()
        for digit in "4711":
            app.screens.get_screen("pairing").press(digit)
        yield settle
        self.shot("pairing")


def _offline(request: Any) -> Any:
    import httpx

    raise httpx.ConnectError("screenshots run without a network", request=request)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the rendering subprocess (see :func:`render`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=5)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--size", default="1024x600")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    args.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_NO_ARGS", "1")

    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("kivy", "exit_on_escape", "0")

    import httpx
    from kivy.clock import Clock

    from kiosk.settings import KioskSettings
    from kiosk.store import Store
    from kiosk.ui.app import SmilepostKioskApp

    config = demo_config(args.scale, args.lang)
    with Store.open(args.data) as store:
        store.save_config(config, etag='"demo"')
        store.save_credentials("https://smilepost.example.net", config.kiosk_id, "demo-token")
        for score in (5, 4, 5):
            store.record_tap(score, 5)
    settings = KioskSettings(data_dir=args.data, server="https://smilepost.example.net", sync_interval=3600)
    app = SmilepostKioskApp(settings, transport=httpx.MockTransport(_offline))
    shooter = _Shooter(app, args.out, args.scale, args.lang)
    Clock.schedule_once(shooter.advance, 0.5)
    app.run()
    if shooter.error:
        sys.stderr.write(shooter.error)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
