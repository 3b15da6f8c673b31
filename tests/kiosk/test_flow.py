"""The kiosk's decisions without a window (kiosk.flow): repeat and hold, follow-up reasons, comments, keypads, the
PIN lock, pairing errors, keys, idle and opening hours, the admin screen's lines, and several questions (#13):
rotate and sequence mode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest

from kiosk.flow import (
    ADMIN_IDLE_SECONDS,
    ASPECT_SETTLE_SECONDS,
    CODE_DIGITS,
    PIN_MAX_DIGITS,
    DigitEntry,
    KeyCommand,
    KioskFlow,
    PinGate,
    PinOutcome,
    TapPlan,
    admin_rows,
    after_hours_check,
    after_idle,
    code_problem,
    followup_reasons,
    in_admin_corner,
    key_digit,
    new_config_applies_now,
    pairing_failure,
    scores_for,
)
from kiosk.store import Store, StoreCounts
from kiosk.sync import Rejected, SyncStatus, Unreachable
from shared.pins import hash_pin
from shared.protocol import KioskConfig
from tests.support.kiosk_config import make_config

PIN = "246813"
PIN_HASH = hash_pin(PIN, n=2**10)  # cheap scrypt
REASONS = {"negative_reasons": ["slow", "rude"], "positive_reasons": ["fast"]}


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def flow_for(clock: FakeClock | None = None, **config: object) -> KioskFlow:
    return KioskFlow(make_config(**config), clock=clock or FakeClock())


# -- answers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scale", "scores"), [(3, [1, 2, 3]), (4, [1, 2, 3, 4]), (5, [1, 2, 3, 4, 5]), (11, list(range(11)))]
)
def test_scores_for_each_scale_saddest_first(scale: int, scores: list[int]) -> None:
    assert scores_for(scale) == scores


def test_scores_for_an_unknown_scale_raises() -> None:
    with pytest.raises(ValueError, match="scale"):
        scores_for(6)


@pytest.mark.parametrize(
    ("scale", "score", "expected"),
    [
        (5, 1, ["slow", "rude"]),
        (5, 2, ["slow", "rude"]),
        (5, 3, []),
        (5, 4, ["fast"]),
        (3, 1, ["slow", "rude"]),
        (3, 2, []),
        (3, 3, ["fast"]),
        (4, 2, ["slow", "rude"]),
        (4, 3, ["fast"]),
        (11, 6, ["slow", "rude"]),
        (11, 7, []),
        (11, 8, []),
        (11, 9, ["fast"]),
    ],
)
def test_followup_reasons_follow_the_negative_and_positive_scores(scale: int, score: int, expected: list[str]) -> None:
    assert followup_reasons(make_config(scale=scale, followup=REASONS), score) == expected


def test_no_followup_question_means_no_reasons() -> None:
    assert followup_reasons(make_config(), 1) == []


@pytest.mark.parametrize(
    ("repeat_seconds", "gap", "repeat"),
    [(5, 0.0, True), (5, 4.9, True), (5, 5.0, False), (5, 60.0, False), (0, 0.0, False)],
)
def test_a_press_within_repeat_press_seconds_of_the_previous_one_is_a_repeat(
    repeat_seconds: float, gap: float, repeat: bool
) -> None:
    clock = FakeClock()
    flow = flow_for(clock, repeat_press_seconds=repeat_seconds)
    assert flow.plan_tap(3).repeat is False  # the first press repeats nothing
    clock.now += gap
    plan = flow.plan_tap(3)
    assert (plan.repeat, plan.flags) == (repeat, ["repeat"] if repeat else [])


def test_repeats_are_measured_from_the_previous_press_not_the_first() -> None:
    clock = FakeClock()
    flow = flow_for(clock, repeat_press_seconds=5)
    seen = []
    for _ in range(3):
        seen.append(flow.plan_tap(4).repeat)
        clock.now += 4
    assert seen == [False, True, True]


def test_forgetting_the_last_press_makes_the_next_one_fresh() -> None:
    flow = flow_for(repeat_press_seconds=5)
    flow.plan_tap(1)
    flow.forget_last_press()
    assert flow.plan_tap(1).repeat is False


@pytest.mark.parametrize(
    ("followup", "comment", "score", "reasons", "hold"),
    [
        (REASONS, False, 1, ["slow", "rude"], True),
        (REASONS, False, 5, ["fast"], True),
        (REASONS, False, 3, [], False),  # a middle face is not asked why
        (REASONS, True, 3, [], True),  # ... but may leave a comment
        (None, True, 1, [], True),
        (None, False, 1, [], False),
    ],
)
def test_a_tap_is_held_while_a_followup_or_comment_may_come(
    followup: dict[str, list[str]] | None, comment: bool, score: int, reasons: list[str], hold: bool
) -> None:
    plan = flow_for(followup=followup, comment={"enabled": comment}).plan_tap(score)
    assert (plan.reasons, plan.hold, plan.repeat) == (reasons, hold, False)


def test_a_repeat_press_is_neither_asked_why_nor_held() -> None:
    flow = flow_for(followup=REASONS, comment={"enabled": True}, repeat_press_seconds=5)
    flow.plan_tap(1)
    plan = flow.plan_tap(1)
    assert (plan.repeat, plan.reasons, plan.hold) == (True, [], False)


@pytest.mark.parametrize(
    ("followup", "followup_seconds", "comment_seconds"),
    [(None, 10.0, 30.0), ({"timeout_seconds": 20}, 20.0, 30.0), ({"timeout_seconds": 90}, 90.0, 90.0)],
)
def test_the_comment_keyboard_waits_at_least_30_seconds(
    followup: dict[str, float] | None, followup_seconds: float, comment_seconds: float
) -> None:
    flow = flow_for(followup=followup)
    assert (flow.followup_seconds(), flow.comment_seconds()) == (followup_seconds, comment_seconds)


@pytest.mark.parametrize(
    ("text", "char", "expected"),
    [("", "a", "a"), ("hello", " ", "hello "), ("0123456789", "x", "0123456789"), ("012345678", "x", "012345678x")],
)
def test_typing_stops_at_comment_max_chars(text: str, char: str, expected: str) -> None:
    assert flow_for(comment={"enabled": True, "max_chars": 10}).add_char(text, char) == expected


# -- keypads ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("max_digits", "keys", "text", "results"),
    [
        (8, "12", "12", ["typed", "typed"]),
        (8, ["1", "2", "back"], "1", ["typed", "typed", "deleted"]),
        (8, ["back"], "", ["deleted"]),
        (8, ["1", "ok"], "1", ["typed", "submit"]),
        (8, ["x", "²", "12"], "", ["ignored", "ignored", "ignored"]),
        (CODE_DIGITS, "123456789", "12345678", ["typed"] * 8 + ["ignored"]),
        (PIN_MAX_DIGITS, "1234567890123", "123456789012", ["typed"] * 12 + ["ignored"]),
    ],
    ids=["digits", "backspace", "backspace-empty", "ok", "not-digits", "pairing-code-8", "pin-12"],
)
def test_keypad_entry_types_digits_up_to_its_length(
    max_digits: int, keys: list[str] | str, text: str, results: list[str]
) -> None:
    entry = DigitEntry(max_digits)
    assert [entry.press(key) for key in keys] == results
    assert entry.text == text
    assert (entry.take(), entry.text) == (text, "")


def test_a_wrong_pin_says_so_and_a_right_one_opens() -> None:
    gate = PinGate(clock=FakeClock())
    for digit in "1111":
        gate.press(digit)
    assert gate.submit(lambda entry: entry == PIN) == PinOutcome(accepted=False, message="Wrong PIN.")
    assert gate.entry.text == ""  # the next try starts empty
    for digit in PIN:
        gate.press(digit)
    assert gate.submit(lambda entry: entry == PIN) == PinOutcome(accepted=True)


def test_five_wrong_pins_lock_the_pad_for_60_seconds() -> None:
    clock = FakeClock()
    gate = PinGate(clock=clock)
    messages = []
    for _ in range(5):
        gate.press("1")
        outcome = gate.submit(lambda entry: entry == PIN)
        assert outcome is not None and not outcome.accepted
        messages.append(outcome.message)
    assert messages == ["Wrong PIN."] * 4 + ["Too many wrong PINs: locked, try again in 60 s."]
    clock.now += 0.5
    assert gate.lock_message() == "Too many wrong PINs: locked, try again in 60 s."  # rounded up
    clock.now += 50
    assert gate.lock_message() == "Too many wrong PINs: locked, try again in 10 s."
    assert [gate.press(d) for d in "12"] == ["ignored", "ignored"]  # keys do nothing while locked
    assert gate.submit(lambda _: True) is None  # not even the right PIN
    clock.now += 10
    assert (gate.locked, gate.lock_message()) == (False, "")
    for digit in PIN:
        gate.press(digit)
    opened = gate.submit(lambda entry: entry == PIN)
    assert opened is not None and opened.accepted


def test_a_right_pin_resets_the_count_of_wrong_ones() -> None:
    gate = PinGate(clock=FakeClock())
    messages = []
    for right in [False] * 4 + [True] + [False] * 4:

        def matches(_: str, right: bool = right) -> bool:
            return right

        outcome = gate.submit(matches)
        messages.append(outcome.message if outcome else None)
    assert messages == ["Wrong PIN."] * 4 + [""] + ["Wrong PIN."] * 4
    assert not gate.locked


@pytest.mark.parametrize(
    ("pin_hash", "fallback", "entry", "matches"),
    [
        (PIN_HASH, None, PIN, True),
        (PIN_HASH, None, "111111", False),
        (PIN_HASH, "111111", "111111", False),  # the config's PIN wins over the environment's
        ("scrypt$not-a-hash", None, PIN, False),  # malformed: nothing matches (logged)
        (None, "111111", "111111", True),
        (None, "111111", "1111112", False),
        (None, None, "", False),
    ],
)
def test_the_pin_is_checked_against_the_configs_hash_else_the_environment(
    pin_hash: str | None, fallback: str | None, entry: str, matches: bool
) -> None:
    assert flow_for(admin_pin_hash=pin_hash).pin_matches(entry, fallback) is matches


# -- pairing ----------------------------------------------------------------------------------------------------


SRV = "http://srv"
WRONG_CODE = "That code is wrong, used or expired. Create a new one on the server."


@pytest.mark.parametrize(
    ("error", "text"),
    [
        (Rejected(403, "invalid or expired pairing code"), WRONG_CODE),
        (Rejected(422, "code: must be 8 digits"), "The server refused the code: code: must be 8 digits"),
        (Unreachable("HTTP 429: slow down", retry_after=29.2, status=429), "Too many attempts, try again in 30 s."),
        (Unreachable("HTTP 429: slow down", status=429), "Too many attempts, try again in 60 s."),
        (Unreachable("HTTP 503: down", status=503), f"Cannot reach the server at {SRV} (HTTP 503: down)."),
        (Unreachable("ConnectError: refused"), f"Cannot reach the server at {SRV} (ConnectError: refused)."),
        # decided by class and status, never by the text: a network error that reads like a 429 is not one
        (Unreachable("HTTP 429 (a proxy)", retry_after=5), f"Cannot reach the server at {SRV} (HTTP 429 (a proxy))."),
        (RuntimeError("boom"), "Pairing failed: boom"),
    ],
    ids=["403", "422", "429-retry-after", "429-no-header", "503", "network", "429-only-in-text", "bug"],
)
def test_a_failed_pairing_is_explained_by_the_exceptions_type_and_status(error: Exception, text: str) -> None:
    notice = pairing_failure(error, SRV)
    assert (notice.text, notice.ok) == (text, False)


@pytest.mark.parametrize(("code", "problem"), [("1234", "The pairing code has 8 digits."), ("12345678", None)])
def test_a_pairing_code_must_have_8_digits_before_it_is_sent(code: str, problem: str | None) -> None:
    notice = code_problem(code)
    assert (notice.text if notice else None) == problem


# -- keys, gestures, screens ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keycode", "digit"), [(48, 0), (57, 9), (256, 0), (258, 2), (265, 9), (47, None), (58, None), (266, None)]
)
def test_digits_come_from_the_number_row_and_the_keypad(keycode: int, digit: int | None) -> None:
    assert key_digit(keycode) == digit


@pytest.mark.parametrize(
    ("screen", "scale", "keycode", "codepoint", "command"),
    [
        ("ask", 5, 27, None, KeyCommand("swallow")),  # Escape never closes the kiosk
        ("admin", 5, 27, None, KeyCommand("swallow")),
        ("ask", 5, 49, "1", KeyCommand("tap", score=1)),
        ("ask", 4, 258, "2", KeyCommand("tap", score=2)),
        ("ask", 4, 53, "5", None),  # 5 is not on a 4-face scale
        ("ask", 5, 48, "0", None),
        ("ask", 11, 48, "0", KeyCommand("tap", score=0)),
        ("thanks", 5, 51, "3", KeyCommand("tap", score=3)),
        ("followup", 5, 52, "4", KeyCommand("tap", score=4)),
        ("attract", 5, 52, "4", KeyCommand("tap", score=4)),
        ("closed", 5, 49, "1", None),
        ("admin", 5, 49, "1", None),
        ("ask", 5, 97, "a", None),
        ("pairing", 5, 55, "7", KeyCommand("pad", text="7")),
        ("pin", 5, 264, "8", KeyCommand("pad", text="8")),
        ("pin", 5, 8, None, KeyCommand("pad", text="back")),
        ("pin", 5, 13, None, KeyCommand("pad", text="ok")),
        ("pairing", 5, 271, None, KeyCommand("pad", text="ok")),
        ("pairing", 5, 97, "a", KeyCommand("swallow")),
        ("comment", 5, 8, None, KeyCommand("delete")),
        ("comment", 5, 13, None, KeyCommand("send")),
        ("comment", 5, 49, "1", KeyCommand("type", text="1")),
        ("comment", 5, 230, "æ", KeyCommand("type", text="æ")),
        ("comment", 5, 273, None, KeyCommand("swallow")),
    ],
)
def test_what_a_key_does_on_each_screen(
    screen: str, scale: int, keycode: int, codepoint: str | None, command: KeyCommand | None
) -> None:
    assert flow_for(scale=scale).key(screen, keycode, codepoint) == command


@pytest.mark.parametrize(
    ("screen", "paired", "pin_hash", "fallback", "target"),
    [
        ("ask", True, PIN_HASH, None, "pin"),
        ("thanks", True, None, "111111", "pin"),
        ("ask", True, None, None, None),  # no PIN anywhere: the admin screen stays closed
        ("ask", False, None, None, "admin"),  # not paired: no PIN needed
        ("pairing", False, None, None, "admin"),
        ("pin", True, PIN_HASH, None, None),
        ("admin", True, PIN_HASH, None, None),
        ("pairing", True, PIN_HASH, None, None),
    ],
)
def test_the_hidden_long_press_opens_the_pin_pad_or_the_admin_screen(
    screen: str, paired: bool, pin_hash: str | None, fallback: str | None, target: str | None
) -> None:
    flow = flow_for(admin_pin_hash=pin_hash)
    assert flow.admin_gesture(screen, paired=paired, fallback_pin=fallback) == target


@pytest.mark.parametrize(
    ("x", "y", "inside"),
    [(0, 600, True), (72, 528, True), (73, 600, False), (0, 527, False), (500, 300, False)],
)
def test_the_admin_corner_is_top_left_and_at_least_72_pixels(x: float, y: float, inside: bool) -> None:
    assert in_admin_corner(x, y, 1024, 600) is inside  # 12 % of 600 = 72


def test_the_admin_corner_grows_with_the_window() -> None:
    assert in_admin_corner(129, 1920 - 129, 1080, 1920)  # 12 % of 1080 = 129.6
    assert not in_admin_corner(131, 1920, 1080, 1920)


@pytest.mark.parametrize(
    ("screen", "target", "seconds"),
    [
        ("ask", "attract", 45.0),
        ("admin", "ask", ADMIN_IDLE_SECONDS),
        ("pin", "ask", ADMIN_IDLE_SECONDS),
        ("thanks", None, 45.0),
        ("pairing", None, 45.0),
        ("attract", None, 45.0),
    ],
)
def test_an_idle_kiosk_shows_the_attract_screen_and_closes_staff_screens(
    screen: str, target: str | None, seconds: float
) -> None:
    assert after_idle(screen) == target
    assert flow_for(attract_after_seconds=45).idle_seconds(screen) == seconds


@pytest.mark.parametrize(
    ("open_now", "screen", "target"),
    [
        (False, "ask", "closed"),
        (False, "followup", "closed"),
        (False, "comment", "closed"),
        (False, "attract", "closed"),
        (False, "closed", None),
        (False, "admin", None),  # staff are never interrupted
        (False, "pairing", None),
        (True, "closed", "ask"),
        (True, "ask", None),
        (True, "pin", None),
    ],
)
def test_opening_hours_switch_between_the_closed_screen_and_the_question(
    open_now: bool, screen: str, target: str | None
) -> None:
    assert after_hours_check(open_now, screen) == target


# -- the admin screen -------------------------------------------------------------------------------------------


def test_the_admin_screen_lists_what_staff_need_to_know() -> None:
    config: KioskConfig = make_config(kiosk_id="k-7", location_id=3, location_name="Gate 7", timezone="Europe/Oslo")
    synced_at = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    status = SyncStatus("rejected", 4, last_sync_at=synced_at, last_error="HTTP 401: revoked", error_status=401)
    rows = dict(
        admin_rows(
            kiosk_id="k-7",
            config=config,
            server="http://srv",
            status_text="token rejected",
            counts=StoreCounts(total=10, pending=4, synced=5, held=1, quarantined=1),
            last_status=status,
            outbox_note="outbox was damaged; saved as outbox.db.corrupt-20261122T100000Z",
            version="9.9",
        )
    )
    assert rows == {
        "Kiosk": "k-7",
        "Location": "Gate 7 (#3, Europe/Oslo)",
        "Server": "http://srv",
        "Status": "token rejected",
        "Queue": "4 to send (1 awaiting a follow-up)",
        "Stored": "10 taps, 5 synced",
        "Quarantined": "1 refused by the server (kept)",
        "Outbox": "outbox was damaged; saved as outbox.db.corrupt-20261122T100000Z",
        "Last sync": synced_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "Last error": "HTTP 401: revoked",
        "Version": "smilepost-kiosk 9.9",
    }


def test_the_admin_screen_of_a_fresh_kiosk() -> None:
    rows = dict(
        admin_rows(
            kiosk_id=None,
            config=make_config(location_id=0),
            server="http://srv",
            status_text="",
            counts=StoreCounts(total=0, pending=0, synced=0),
            last_status=None,
            outbox_note=None,
            version="9.9",
        )
    )
    assert [rows[k] for k in ("Kiosk", "Location", "Status", "Queue", "Quarantined", "Outbox", "Last sync")] == [
        "not paired",
        "—",
        "—",
        "0 to send",
        "none",
        "ok",
        "never",
    ]
    assert rows["Last error"] == "none"


# -- several questions (#13) -----------------------------------------------------------------------------------

QUESTIONS = [
    {"id": "staff", "scale": 3, "followup": {"negative_reasons": ["rude"], "positive_reasons": ["kind"]}},
    {"id": "recommend", "scale": 11, "followup": {"negative_reasons": ["price"], "timeout_seconds": 40}},
]


def questions_flow(mode: str, clock: FakeClock | None = None, *, turn: int = 0, **config: object) -> KioskFlow:
    """A flow on a 5-face main question (reasons, comments on) and QUESTIONS, in ``mode``, with no repeat window."""
    values: dict[str, object] = {"followup": REASONS, "comment": {"enabled": True}, "repeat_press_seconds": 0}
    values.update(config)
    return KioskFlow(
        make_config(question_mode=mode, questions=QUESTIONS, **values), clock=clock or FakeClock(), turn=turn
    )


def answer(flow: KioskFlow, score: int) -> tuple[TapPlan, UUID]:
    """Plan a press and record it as stored, as the App does after a successful commit."""
    plan = flow.plan_tap(score)
    tap_id = uuid.uuid4()
    flow.recorded(plan, tap_id)
    return plan, tap_id


def test_single_mode_asks_every_customer_the_main_question_and_keeps_no_turn() -> None:
    flow = questions_flow("single")
    for _ in range(3):
        flow.start_customer()
        plan, _ = answer(flow, 4)
        assert (plan.question_id, plan.scale, plan.next_turn, plan.first_tap_id) == ("main", 5, None, None)
        assert flow.advance() is None
    assert flow.turn == 0


def test_rotate_asks_each_customer_one_question_in_turn_main_first() -> None:
    flow = questions_flow("rotate")
    asked = []
    for _ in range(7):
        question = flow.start_customer().question
        plan, _ = answer(flow, 3)
        asked.append((question.id, plan.question_id, plan.scale, plan.next_turn))
        assert flow.advance() is None  # one question per customer
    assert asked == [
        ("main", "main", 5, 1),
        ("staff", "staff", 3, 2),
        ("recommend", "recommend", 11, 3),
        ("main", "main", 5, 4),
        ("staff", "staff", 3, 5),
        ("recommend", "recommend", 11, 6),
        ("main", "main", 5, 7),
    ]


def test_rotate_picks_the_same_question_until_someone_answers() -> None:
    flow = questions_flow("rotate")
    assert [flow.start_customer().question.id for _ in range(3)] == ["main"] * 3  # the attract screen came and went


def test_a_repeat_press_does_not_move_the_rotation_and_further_presses_do_not_skip_a_question() -> None:
    """Decided: a repeat press is nobody new, so it leaves the turn where it is; a press that answers the same
    question again before the next customer starts (a button box on the thank-you screen, after the repeat window)
    moves the turn to the same place as the first, so no question is skipped."""
    clock = FakeClock()
    flow = questions_flow("rotate", clock, repeat_press_seconds=5)
    flow.start_customer()
    first, _ = answer(flow, 5)
    clock.now += 1
    repeat, _ = answer(flow, 5)  # the same question, 1 s later
    assert (first.next_turn, repeat.repeat, repeat.next_turn, repeat.reasons, repeat.hold) == (1, True, None, [], False)
    clock.now += 10
    again, _ = answer(flow, 2)  # still the same question, after the repeat window: counted
    assert (again.question_id, again.repeat, again.next_turn) == ("main", False, 1)
    assert flow.turn == 1
    assert flow.start_customer().question.id == "staff"


def test_repeat_presses_are_told_apart_per_question() -> None:
    clock = FakeClock()
    flow = questions_flow("rotate", clock, repeat_press_seconds=5)
    seen = []
    for _ in range(4):  # main, staff, recommend, main: a second apart
        flow.start_customer()
        plan, _ = answer(flow, 3)
        seen.append((plan.question_id, plan.repeat))
        clock.now += 1
    assert seen == [("main", False), ("staff", False), ("recommend", False), ("main", True)]  # main: 3 s apart


def test_rotation_goes_on_where_it_stopped_after_a_restart(tmp_path: Path) -> None:
    flow = questions_flow("rotate")
    with Store.open(tmp_path) as store:
        for _ in range(2):  # main, staff
            flow.start_customer()
            plan = flow.plan_tap(3)
            tap = store.record_tap(3, plan.scale, plan.question_id, next_turn=plan.next_turn)
            flow.recorded(plan, tap.id)
    with Store.open(tmp_path) as reopened:
        restarted = questions_flow("rotate", turn=reopened.question_turn())
    assert (restarted.turn, restarted.start_customer().question.id) == (2, "recommend")


@pytest.mark.parametrize(("score", "reasons"), [(1, ["rude"]), (2, []), (3, ["kind"])])
def test_a_rotated_question_offers_its_own_reasons_by_the_side_of_the_face(score: int, reasons: list[str]) -> None:
    flow = questions_flow("rotate", turn=1)  # staff, on 3 faces
    flow.start_customer()
    plan = flow.plan_tap(score)
    assert (plan.question_id, plan.scale, plan.reasons, plan.comment, plan.hold) == ("staff", 3, reasons, True, True)


def test_sequence_asks_the_main_question_then_each_aspect_linked_to_the_first_tap() -> None:
    flow = questions_flow("sequence")
    asking = flow.start_customer()
    assert (asking.question.id, asking.aspect, asking.position) == ("main", False, "1 / 3")
    main, main_id = answer(flow, 1)
    assert (main.question_id, main.scale, main.first_tap_id, main.reasons, main.comment) == (
        "main", 5, None, ["slow", "rude"], True
    )  # fmt: skip
    staff_asking = flow.advance()  # after the main answer's follow-up
    assert staff_asking is not None
    assert (staff_asking.question.id, staff_asking.aspect, staff_asking.position) == ("staff", True, "2 / 3")
    staff, _ = answer(flow, 3)
    assert (staff.question_id, staff.scale, staff.first_tap_id, staff.reasons) == ("staff", 3, main_id, ["kind"])
    assert (staff.comment, staff.hold, staff.next_turn) == (False, True, None)  # no comment on an aspect question
    recommend_asking = flow.advance()
    assert recommend_asking is not None and recommend_asking.position == "3 / 3"
    recommend, _ = answer(flow, 8)
    assert (recommend.question_id, recommend.scale, recommend.first_tap_id) == ("recommend", 11, main_id)
    assert (recommend.reasons, recommend.hold) == ([], False)  # 8 of 0-10 is neutral
    assert flow.advance() is None  # thanks


def test_a_skipped_aspect_question_records_nothing_and_the_next_one_follows() -> None:
    flow = questions_flow("sequence")
    flow.start_customer()
    _, main_id = answer(flow, 4)
    flow.advance()
    skipped = flow.advance()  # Skip on staff: nothing planned, nothing recorded
    assert skipped is not None and skipped.question.id == "recommend"
    plan, _ = answer(flow, 10)
    assert (plan.question_id, plan.first_tap_id) == ("recommend", main_id)
    assert flow.advance() is None


def test_after_an_aspect_question_times_out_the_next_customer_starts_at_the_main_question() -> None:
    flow = questions_flow("sequence", question_timeout_seconds=12)
    flow.start_customer()
    answer(flow, 4)
    flow.advance()
    assert flow.question_seconds() == 12
    asking = flow.start_customer()  # the timeout: the customer is gone
    assert (asking.question.id, asking.step, asking.first_tap_id) == ("main", 0, None)
    plan, _ = answer(flow, 2)
    assert (plan.question_id, plan.first_tap_id) == ("main", None)


def test_a_repeat_press_or_an_unstored_main_answer_ends_the_sequence() -> None:
    clock = FakeClock()
    flow = questions_flow("sequence", clock, repeat_press_seconds=5)
    flow.start_customer()
    answer(flow, 3)
    clock.now += 1
    flow.start_customer()
    repeat, _ = answer(flow, 3)
    assert repeat.repeat is True and flow.advance() is None
    clock.now += 10
    flow.start_customer()
    flow.plan_tap(3)  # SQLite failed: the App does not call recorded()
    assert flow.advance() is None


def test_an_aspect_question_ignores_presses_while_it_settles() -> None:
    clock = FakeClock()
    flow = questions_flow("sequence", clock)
    flow.start_customer()
    answer(flow, 4)
    assert flow.settling() is False  # the main question never settles
    flow.advance()
    assert flow.settling() is True
    clock.now += ASPECT_SETTLE_SECONDS + 0.001
    assert flow.settling() is False


def test_the_follow_up_waits_as_long_as_the_asked_question_says() -> None:
    flow = questions_flow("rotate", followup={**REASONS, "timeout_seconds": 20}, turn=2)
    flow.start_customer()
    assert flow.followup_seconds() == 40.0  # recommend's own follow-up
    flow.turn = 0
    flow.start_customer()
    assert flow.followup_seconds() == 20.0


def test_keys_follow_the_scale_of_the_question_on_screen() -> None:
    flow = questions_flow("sequence")
    flow.start_customer()
    assert flow.key("ask", 48, "0") is None  # 0 is not on the main question's 5 faces
    answer(flow, 4)
    flow.advance()
    assert flow.key("aspect", 52, "4") is None  # staff has 3 faces
    assert flow.key("aspect", 51, "3") == KeyCommand("tap", score=3)
    flow.advance()
    assert flow.key("aspect", 48, "0") == KeyCommand("tap", score=0)  # recommend is 0-10


def test_a_customer_keeps_the_questions_they_started_with_when_the_config_changes() -> None:
    flow = questions_flow("sequence")
    flow.start_customer()
    _, main_id = answer(flow, 4)
    flow.config = make_config(question_mode="single")
    asking = flow.advance()
    assert asking is not None and asking.question.id == "staff" and asking.first_tap_id == main_id
    assert flow.start_customer().questions[0].id == "main" and len(flow.asking.questions) == 1


@pytest.mark.parametrize(
    ("screen", "now"),
    [("ask", True), ("attract", True), ("closed", True), ("admin", True), ("aspect", False), ("thanks", False),
     ("followup", False), ("comment", False)],
)  # fmt: skip
def test_a_new_config_waits_for_the_next_customer_while_one_is_mid_way(screen: str, now: bool) -> None:
    assert new_config_applies_now(screen) is now
