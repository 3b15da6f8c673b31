"""The kiosk's decisions, in plain Python (no Kivy): what a press does, which screen comes next, what a key means,
when the PIN pad locks and what a failed pairing says. The Kivy App (:mod:`kiosk.ui.app`) holds one
:class:`KioskFlow`, shows what it decides and does the I/O; tests drive it without a window.

- **Questions** (#13): :meth:`KioskFlow.start_customer` picks what the next customer is asked (:class:`Asking`):
  the main question (``single``), one question in turn (``rotate``: the device's turn, saved with the tap that
  moves it, see below), or the main question followed by each aspect question (``sequence``);
  :meth:`KioskFlow.advance` says what follows an answered (or skipped) question.
- **Answers**: :meth:`KioskFlow.plan_tap` says which question a press answers (with its scale and, for an aspect
  question, the customer's first tap), whether it is a repeat (``shared.scores.is_repeat`` on the monotonic clock,
  per question), which follow-up reasons to offer (:func:`question_reasons`, by the side of the face tapped) and
  whether the tap is held for a follow-up or a comment; :meth:`KioskFlow.add_char` keeps a comment within
  ``comment.max_chars``.
- **Keypads**: :class:`DigitEntry` types digits up to a length (pairing codes :data:`CODE_DIGITS`, PINs up to
  :data:`PIN_MAX_DIGITS`); :class:`PinGate` checks a PIN and locks the pad for :data:`PIN_LOCK_SECONDS` after
  :data:`PIN_MAX_FAILURES` wrong ones in a row.
- **Pairing**: :func:`pairing_failure` words a failed pairing from the exception's class and ``status``
  (:mod:`kiosk.sync`'s tree), never from its message text; a :class:`Notice` says whether it is good news.
- **Screens**: :meth:`KioskFlow.key` maps a key on a screen to a command, :meth:`KioskFlow.admin_gesture` says
  what the hidden long press opens, :func:`after_idle` and :func:`after_hours_check` which screen comes next.
- **Admin screen**: :func:`admin_rows` are its lines.
"""

from __future__ import annotations

import hmac
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal
from uuid import UUID

from kiosk.store import StoreCounts
from kiosk.sync import Rejected, SyncStatus, Unreachable
from shared.pins import verify_pin
from shared.protocol import FollowUp, KioskConfig, Question, score_range
from shared.questions import main_question, rotation_pick, sequence_after_main
from shared.scores import is_repeat, side

log = logging.getLogger(__name__)

CODE_DIGITS = 8  # pairing codes
PIN_MAX_DIGITS = 12
PIN_MAX_FAILURES = 5  # wrong PINs in a row that lock the pad
PIN_LOCK_SECONDS = 60.0
ADMIN_HOLD_SECONDS = 3.0  # long press in the top-left corner that opens the PIN pad
ADMIN_CORNER = 0.12  # of the shorter window side, at least ADMIN_CORNER_MIN_PX
ADMIN_CORNER_MIN_PX = 72
ADMIN_IDLE_SECONDS = 120.0  # an admin screen (or the PIN pad) left open returns to the question
COMMENT_MIN_TIMEOUT = 30.0  # typing takes longer than picking a reason
ASPECT_SETTLE_SECONDS = 0.4  # an aspect question ignores presses this long: the finger that answered the last one
CUSTOMER_SCREENS = ("ask", "aspect", "thanks", "followup", "comment", "attract")
ANSWER_SCREENS = ("ask", "aspect", "thanks", "followup", "attract")  # where a digit key is an answer
MID_CUSTOMER_SCREENS = ("aspect", "thanks", "followup", "comment")  # a new config waits for the next customer
STAFF_SCREENS = ("pin", "admin", "pairing")
RESTING_SCREENS = ("attract", "closed")  # static screens where a touch records nothing: see frame_rate()
RESTING_FPS = 20.0
RESTING_AFTER_SECONDS = 1.0  # a resting screen is drawn (and touchable) at full rate first
KEY_BACKSPACE, KEY_ESCAPE = 8, 27
KEY_ENTER = (13, 271)  # Return, keypad Enter
_DIGITS = frozenset("0123456789")

#: Shown until the server's config arrives (a kiosk that was never paired, or never reached the server).
UNPAIRED_CONFIG = KioskConfig(kiosk_id="unpaired", location_id=0, location_name="", timezone="UTC")


# -- answers ----------------------------------------------------------------------------------------------------


def scores_for(scale: int) -> list[int]:
    """Scores shown, saddest first: 1..n for faces, 0..10 for NPS. Raises ValueError for an unknown scale."""
    return list(score_range(scale))


def question_reasons(question: Question, score: int) -> list[str]:
    """Reason ids to offer after ``score`` on ``question``: its negative set after a negative face, its positive
    set after a positive one (the side of the face tapped, :func:`shared.scores.side` on the question's scale),
    none after a middle face or without a follow-up question.

    Raises ValueError (with a follow-up question) for a score outside the question's scale.
    """
    if question.followup is None:
        return []
    lists = {"negative": question.followup.negative_reasons, "positive": question.followup.positive_reasons}
    return list(lists.get(side(question.scale, score), []))


def followup_reasons(config: KioskConfig, score: int) -> list[str]:
    """Reason ids to offer after ``score`` on the main question (see :func:`question_reasons`).

    Raises ValueError (with a follow-up question) for a score outside the config's scale.
    """
    return question_reasons(main_question(config, config.scale), score)


def customer_questions(config: KioskConfig, turn: int) -> tuple[Question, ...]:
    """What one customer is asked, in order: the main question (``single``), the question of device turn ``turn``
    (``rotate``), or the main question then every aspect question (``sequence``)."""
    if config.question_mode == "sequence":
        return (main_question(config, config.scale), *sequence_after_main(config))
    return (rotation_pick(config, config.scale, turn),)


@dataclass(frozen=True)
class Asking:
    """Where the current customer is: their ``questions`` (fixed when they start, so a new config does not
    reshuffle a customer half-way) and the ``step`` on screen (0 is their first question; later steps are the
    aspect questions of a sequence). ``turn`` is the device turn a rotated question was picked for (else None);
    ``first_tap_id`` the customer's first stored answer, which their aspect answers link to; ``done`` is set by a
    repeat press, which ends the customer (nothing more is asked); ``shown_at`` the clock time an aspect question
    appeared."""

    questions: tuple[Question, ...]
    step: int = 0
    turn: int | None = None
    first_tap_id: UUID | None = None
    done: bool = False
    shown_at: float | None = None

    @property
    def question(self) -> Question:
        """The question on screen."""
        return self.questions[self.step]

    @property
    def aspect(self) -> bool:
        """Whether it is an aspect question of a sequence: skippable, timing out, no comment."""
        return self.step > 0

    @property
    def position(self) -> str:
        """The step on screen among the customer's questions, e.g. "2 / 3" ("" for a customer asked one)."""
        return f"{self.step + 1} / {len(self.questions)}" if len(self.questions) > 1 else ""


@dataclass(frozen=True)
class TapPlan:
    """How one press is stored and what follows it: the ``question_id`` and ``scale`` it answers, ``repeat``
    (flagged, not asked why), the follow-up ``reasons`` to offer, ``comment`` (whether the comment button is
    offered), ``hold`` (kept from sync until the follow-up or comment is answered or times out), ``first_tap_id``
    (an aspect answer: the customer's first tap) and ``next_turn`` (rotate: the device turn saved with the tap)."""

    question_id: str
    scale: int
    repeat: bool
    reasons: list[str]
    hold: bool
    comment: bool = False
    first_tap_id: UUID | None = None
    next_turn: int | None = None

    @property
    def flags(self) -> list[str]:
        """The flags the tap is stored with."""
        return ["repeat"] if self.repeat else []


# -- keypads ----------------------------------------------------------------------------------------------------

KeyResult = Literal["typed", "deleted", "submit", "ignored"]


class DigitEntry:
    """Digits typed on a keypad, at most ``max_digits``; keys are "0".."9", "back" and "ok"."""

    def __init__(self, max_digits: int) -> None:
        self.max_digits = max_digits
        self.text = ""

    def press(self, key: str) -> KeyResult:
        """Apply one key: "typed" (a digit added), "deleted", "submit" ("ok") or "ignored" (too long, not a key)."""
        if key == "back":
            self.text = self.text[:-1]
            return "deleted"
        if key == "ok":
            return "submit"
        if key in _DIGITS and len(self.text) < self.max_digits:
            self.text += key
            return "typed"
        return "ignored"

    def take(self) -> str:
        """The digits typed, leaving the entry empty."""
        text, self.text = self.text, ""
        return text


@dataclass(frozen=True)
class PinOutcome:
    """A checked PIN: ``accepted``, else the ``message`` to show ("Wrong PIN." or the lock)."""

    accepted: bool
    message: str = ""


class PinGate:
    """The admin PIN pad: the digits typed (up to :data:`PIN_MAX_DIGITS`) and the lock, :data:`PIN_MAX_FAILURES`
    wrong PINs in a row lock it for :data:`PIN_LOCK_SECONDS` (measured on ``clock``, a monotonic clock)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.entry = DigitEntry(PIN_MAX_DIGITS)
        self.failures = 0  # wrong PINs in a row
        self.locked_until = 0.0  # clock() value; set it to 0 to lift a lock
        self._clock = clock

    @property
    def locked(self) -> bool:
        """Whether the pad is locked now."""
        return self.locked_until - self._clock() > 0

    def lock_message(self) -> str:
        """The lock's message ("Too many wrong PINs: locked, try again in N s.") while locked, else ""."""
        left = self.locked_until - self._clock()
        return f"Too many wrong PINs: locked, try again in {math.ceil(left)} s." if left > 0 else ""

    def press(self, key: str) -> KeyResult:
        """A keypad key (see :meth:`DigitEntry.press`); "ignored" while locked."""
        return "ignored" if self.locked else self.entry.press(key)

    def submit(self, matches: Callable[[str], bool]) -> PinOutcome | None:
        """Check the digits typed with ``matches`` and empty the entry; None (nothing checked) while locked."""
        if self.locked:
            return None
        if matches(self.entry.take()):
            self.failures = 0
            return PinOutcome(accepted=True)
        self.failures += 1
        if self.failures < PIN_MAX_FAILURES:
            return PinOutcome(accepted=False, message="Wrong PIN.")
        self.failures = 0
        self.locked_until = self._clock() + PIN_LOCK_SECONDS
        return PinOutcome(accepted=False, message=self.lock_message())


# -- pairing ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """A line for the pairing screen; ``ok`` for progress and success (shown in green), else a problem (red)."""

    text: str
    ok: bool = False


PAIRING = Notice("Pairing…", ok=True)
SAVE_FAILED = Notice("Could not save the pairing (storage error).")
NO_NOTICE = Notice("")


def code_problem(code: str) -> Notice | None:
    """What is wrong with a typed pairing code before it is sent, or None."""
    return None if len(code) == CODE_DIGITS else Notice(f"The pairing code has {CODE_DIGITS} digits.")


def paired_notice(kiosk_id: str) -> Notice:
    """The pairing succeeded."""
    return Notice(f"Paired as kiosk {kiosk_id}.", ok=True)


def pairing_failure(error: Exception, server: str) -> Notice:
    """What a failed :func:`kiosk.sync.pair` tells the person at the keypad, decided by the exception's class and
    HTTP ``status`` (403: a wrong, used or expired code; 429: too many attempts, wait ``retry_after``, else 60 s)."""
    if isinstance(error, Rejected):
        if error.status == 403:
            return Notice("That code is wrong, used or expired. Create a new one on the server.")
        return Notice(f"The server refused the code: {error.message}")
    if isinstance(error, Unreachable):
        if error.status == 429:
            wait = math.ceil(error.retry_after) if error.retry_after is not None else 60
            return Notice(f"Too many attempts, try again in {wait} s.")
        return Notice(f"Cannot reach the server at {server} ({error.message}).")
    return Notice(f"Pairing failed: {error}")


# -- keys, gestures and screens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyCommand:
    """What a key does: "swallow" (nothing, but handled), "pad" (keypad key ``text``), "delete" / "send" (the
    comment), "type" (character ``text`` into the comment) or "tap" (answer ``score``)."""

    kind: Literal["swallow", "pad", "delete", "send", "type", "tap"]
    text: str = ""
    score: int = 0


def key_digit(keycode: int) -> int | None:
    """0-9 for the number row (48-57) and the numeric keypad (256-265), else None."""
    if 48 <= keycode <= 57:
        return keycode - 48
    if 256 <= keycode <= 265:
        return keycode - 256
    return None


def after_idle(screen: str) -> Literal["ask", "attract"] | None:
    """Where an idle kiosk goes from ``screen``: staff screens close, the question becomes the attract screen."""
    if screen in ("admin", "pin"):
        return "ask"
    return "attract" if screen == "ask" else None


def frame_rate(screen: str, active_fps: float) -> float:
    """Frames per second for ``screen``: ``active_fps`` (Kivy's maxfps), or :data:`RESTING_FPS` on a screen
    that waits for nobody in particular (:data:`RESTING_SCREENS`, #15). Kivy polls input and ticks its clock at
    this rate even when nothing is redrawn, which is a kiosk's whole idle CPU; a touch on a resting screen only
    leaves it (nothing is recorded) and is seen within 1 / RESTING_FPS seconds. The app slows down only
    :data:`RESTING_AFTER_SECONDS` after such a screen appears."""
    return min(RESTING_FPS, active_fps) if screen in RESTING_SCREENS else active_fps


def new_config_applies_now(screen: str) -> bool:
    """Whether a new config changes the question on ``screen`` at once; a customer mid-way (an aspect question,
    a follow-up, a comment, the thank-you screen) finishes with the questions they started with."""
    return screen not in MID_CUSTOMER_SCREENS


def after_hours_check(open_now: bool, screen: str) -> Literal["ask", "closed"] | None:
    """The screen to switch to after checking opening hours: closed over a customer screen, the question when
    it opens again; None to stay (staff screens are never interrupted)."""
    if not open_now and screen in CUSTOMER_SCREENS:
        return "closed"
    return "ask" if open_now and screen == "closed" else None


def in_admin_corner(x: float, y: float, width: float, height: float) -> bool:
    """Whether window point (x, y) is in the top-left corner that opens the PIN pad when held."""
    side_px = max(ADMIN_CORNER_MIN_PX, ADMIN_CORNER * min(width, height))
    return x <= side_px and y >= height - side_px


class KioskFlow:
    """The decisions of one kiosk. ``config`` is the config in use (the App replaces it when a new one arrives);
    ``clock`` is the monotonic clock for repeat presses and the PIN lock; ``turn`` the device's rotation turn (the
    App reads it from the outbox, :meth:`kiosk.store.Store.question_turn`).

    **Rotation** (``rotate``): customer after customer gets the question of the device's ``turn``, main first, in
    config order, around again. A press moves the turn past the question it answered, unless it is a repeat press
    (a repeat is nobody new, so the next customer still gets the next question in turn); presses on one question
    before the next customer starts (a button box on the thank-you screen) answer that same question and move the
    turn to the same place, so none is skipped.

    **Sequence** (``sequence``): the main question, then each aspect question in order (:meth:`advance`), after
    the main answer's follow-up or comment if there is one. An aspect question offers its own follow-up reasons
    (never a comment), can be skipped and times out after ``question_timeout_seconds``; a skipped or unanswered one
    stores nothing. A repeat press, or a main answer that could not be stored, ends the customer. For its first
    :data:`ASPECT_SETTLE_SECONDS` an aspect question ignores presses (:meth:`settling`): its faces appear where the
    previous question's were, under a finger that may still be bouncing.

    A press answers the question last shown to the customer (also on the thank-you, follow-up and attract screens,
    where a button box may press) until :meth:`start_customer` picks the next customer's question.
    """

    def __init__(
        self, config: KioskConfig = UNPAIRED_CONFIG, *, clock: Callable[[], float] = time.monotonic, turn: int = 0
    ) -> None:
        self.config = config
        self.clock = clock
        self.turn = turn
        self.pin = PinGate(clock=clock)
        self.pair_code = DigitEntry(CODE_DIGITS)
        self._last_press: dict[str, float] = {}  # question id -> clock() of its previous press
        self.asking = self.start_customer()

    # -- customers

    def start_customer(self) -> Asking:
        """A new customer: what they are asked, from the config and the device's turn (see the class docstring).
        Starting again before anyone answered picks the same question."""
        rotated = self.config.question_mode == "rotate"
        self.asking = Asking(customer_questions(self.config, self.turn), turn=self.turn if rotated else None)
        return self.asking

    def plan_tap(self, score: int) -> TapPlan:
        """Plan a press of ``score`` on the question on screen now (it becomes that question's previous press for
        the next repeat check).

        Raises ValueError (with a follow-up question) for a score outside the question's scale.
        """
        asking, question = self.asking, self.asking.question
        now = self.clock()
        previous = self._last_press.get(question.id)
        repeat = is_repeat(None if previous is None else now - previous, self.config.repeat_press_seconds)
        self._last_press[question.id] = now
        reasons = [] if repeat else question_reasons(question, score)
        comment = not repeat and not asking.aspect and self.config.comment.enabled
        return TapPlan(
            question_id=question.id,
            scale=question.scale,
            repeat=repeat,
            reasons=reasons,
            hold=bool(reasons) or comment,
            comment=comment,
            first_tap_id=asking.first_tap_id if asking.aspect else None,
            next_turn=asking.turn + 1 if asking.turn is not None and not repeat else None,
        )

    def recorded(self, plan: TapPlan, tap_id: UUID) -> None:
        """The tap planned as ``plan`` was stored as ``tap_id``: the turn moves, a first answer becomes the one
        later answers link to, a repeat ends the customer. (A tap that could not be stored changes nothing.)"""
        if plan.next_turn is not None:
            self.turn = plan.next_turn
        if plan.repeat:
            self.asking = replace(self.asking, done=True)
        elif not self.asking.aspect:
            self.asking = replace(self.asking, first_tap_id=tap_id)

    def advance(self) -> Asking | None:
        """The customer is done with the question on screen (answered, its follow-up over, or skipped): the next
        question of their sequence, or None when nothing more is asked (show thanks)."""
        asking = self.asking
        if asking.done or asking.first_tap_id is None or asking.step + 1 >= len(asking.questions):
            return None
        self.asking = replace(asking, step=asking.step + 1, shown_at=self.clock())
        return self.asking

    def settling(self) -> bool:
        """Whether a press now is ignored (not stored): an aspect question that appeared under
        :data:`ASPECT_SETTLE_SECONDS` ago."""
        shown = self.asking.shown_at
        return shown is not None and self.clock() - shown < ASPECT_SETTLE_SECONDS

    def forget_last_press(self) -> None:
        """The next press is nobody's repeat (a new config, a test starting fresh)."""
        self._last_press.clear()

    def followup_seconds(self) -> float:
        """How long a follow-up question (of the question on screen) waits for an answer."""
        return (self.asking.question.followup or FollowUp()).timeout_seconds

    def question_seconds(self) -> float:
        """How long an aspect question waits for an answer before the customer counts as gone."""
        return self.config.question_timeout_seconds

    def comment_seconds(self) -> float:
        """How long the comment keyboard waits for the next key: the follow-up time, at least 30 s."""
        return max(COMMENT_MIN_TIMEOUT, self.followup_seconds())

    def add_char(self, text: str, char: str) -> str:
        """``text`` with ``char`` typed at its end, unless that would pass ``comment.max_chars``."""
        return text + char if len(text) + len(char) <= self.config.comment.max_chars else text

    def idle_seconds(self, screen: str) -> float:
        """Seconds without a touch before :func:`after_idle` applies on ``screen``."""
        return ADMIN_IDLE_SECONDS if screen in ("admin", "pin") else self.config.attract_after_seconds

    # -- keys and staff

    def key(self, screen: str, keycode: int, codepoint: str | None) -> KeyCommand | None:
        """What key ``keycode`` (typing ``codepoint``) does on ``screen``; None if the kiosk does not handle it.

        Escape never closes the kiosk; digits act like the faces of the question on screen (1..n; 0-9 on a 0-10
        question) on the customer screens and type on the keypads; the comment screen takes every printable
        character.
        """
        digit = key_digit(keycode)
        if keycode == KEY_ESCAPE:
            return KeyCommand("swallow")
        if screen in ("pairing", "pin"):
            return _pad_command(keycode, digit)
        if screen == "comment":
            return _comment_command(keycode, codepoint)
        if screen in ANSWER_SCREENS and digit is not None and digit in scores_for(self.asking.question.scale):
            return KeyCommand("tap", score=digit)
        return None

    def pin_is_set(self, fallback: str | None) -> bool:
        """Whether any admin PIN exists: the config's hash, else ``fallback`` (SMILEPOST_KIOSK_ADMIN_PIN)."""
        return self.config.admin_pin_hash is not None or fallback is not None

    def pin_matches(self, entry: str, fallback: str | None) -> bool:
        """Whether ``entry`` is the admin PIN: checked against the config's hash, else ``fallback``.

        A malformed hash matches nothing (logged as an error).
        """
        stored = self.config.admin_pin_hash
        if stored is not None:
            try:
                return verify_pin(entry, stored)
            except ValueError:
                log.error("the config's admin_pin_hash is malformed")
                return False
        return fallback is not None and hmac.compare_digest(entry.encode(), fallback.encode())

    def admin_gesture(self, screen: str, *, paired: bool, fallback_pin: str | None) -> Literal["admin", "pin"] | None:
        """What the hidden long press opens on ``screen``: the admin screen at once on a kiosk that is not paired,
        else the PIN pad; None on a staff screen, or when no PIN is set (logged as a warning)."""
        if paired and screen in STAFF_SCREENS:
            return None
        if not paired:
            return "admin"
        if not self.pin_is_set(fallback_pin):
            log.warning("admin screen requested, but no admin PIN is set (config or SMILEPOST_KIOSK_ADMIN_PIN)")
            return None
        return "pin"


def _pad_command(keycode: int, digit: int | None) -> KeyCommand:
    """Digits, Backspace and Enter on the pairing and PIN keypads; other keys are swallowed."""
    if digit is not None:
        return KeyCommand("pad", text=str(digit))
    if keycode == KEY_BACKSPACE:
        return KeyCommand("pad", text="back")
    if keycode in KEY_ENTER:
        return KeyCommand("pad", text="ok")
    return KeyCommand("swallow")


def _comment_command(keycode: int, codepoint: str | None) -> KeyCommand:
    """Backspace deletes, Enter sends, a printable character is typed; other keys are swallowed."""
    if keycode == KEY_BACKSPACE:
        return KeyCommand("delete")
    if keycode in KEY_ENTER:
        return KeyCommand("send")
    if codepoint and codepoint.isprintable():
        return KeyCommand("type", text=codepoint)
    return KeyCommand("swallow")


# -- the admin screen -------------------------------------------------------------------------------------------


def admin_rows(
    *,
    kiosk_id: str | None,
    config: KioskConfig,
    server: str,
    status_text: str,
    counts: StoreCounts,
    last_status: SyncStatus | None,
    outbox_note: str | None,
    version: str,
) -> list[tuple[str, str]]:
    """The admin screen's lines as (name, value); ``kiosk_id`` None for a kiosk that is not paired."""
    status = last_status
    last_sync = (
        status.last_sync_at.astimezone().strftime("%Y-%m-%d %H:%M:%S") if status and status.last_sync_at else None
    )
    location = f"{config.location_name} (#{config.location_id}, {config.timezone})" if config.location_id else "—"
    held = f" ({counts.held} awaiting a follow-up)" if counts.held else ""
    quarantined = f"{counts.quarantined} refused by the server (kept)" if counts.quarantined else "none"
    return [
        ("Kiosk", kiosk_id if kiosk_id is not None else "not paired"),
        ("Location", location),
        ("Server", server),
        ("Status", status_text or "—"),
        ("Queue", f"{counts.pending} to send{held}"),
        ("Stored", f"{counts.total} taps, {counts.synced} synced"),
        ("Quarantined", quarantined),
        ("Outbox", outbox_note or "ok"),
        ("Last sync", last_sync or "never"),
        ("Last error", (status.last_error if status and status.last_error else "none")[:120]),
        ("Version", f"smilepost-kiosk {version}"),
    ]


__all__ = [
    "CODE_DIGITS",
    "PIN_LOCK_SECONDS",
    "PIN_MAX_DIGITS",
    "PIN_MAX_FAILURES",
    "RESTING_AFTER_SECONDS",
    "RESTING_FPS",
    "RESTING_SCREENS",
    "UNPAIRED_CONFIG",
    "Asking",
    "DigitEntry",
    "KeyCommand",
    "KioskFlow",
    "Notice",
    "PinGate",
    "PinOutcome",
    "TapPlan",
    "admin_rows",
    "after_hours_check",
    "after_idle",
    "code_problem",
    "customer_questions",
    "followup_reasons",
    "frame_rate",
    "in_admin_corner",
    "key_digit",
    "new_config_applies_now",
    "pairing_failure",
    "paired_notice",
    "question_reasons",
    "scores_for",
]
