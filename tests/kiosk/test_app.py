"""The real kiosk app in a real Kivy window (SDL offscreen), driven in subprocesses by tests.support.kiosk_driver.

Each subprocess runs several scenarios in one window (the config changes live between them); the tests
below assert on what each scenario saw, including the taps left in the kiosk's SQLite outbox: the customer side,
follow-ups and comments, several questions (#13: rotate and sequence mode), admin and pairing. Screenshots land
in test-output/kiosk/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.kiosk_driver import run_driver

pytestmark = pytest.mark.kivy

CUSTOMER = ["faces", "nps", "keys", "repeat", "language", "closed", "attract", "live_config"]
# Several questions (#13) ride along in the second window: each window process costs seconds, and a third one
# running beside these would slow their first frames.
FOLLOWUP_AND_ADMIN = [
    "followup", "followup_timeout", "comment", "rotate", "sequence", "admin", "rejected_then_repair"
]  # fmt: skip


@pytest.fixture(scope="module")
def customer(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_driver(tmp_path_factory.mktemp("customer"), CUSTOMER)


@pytest.fixture(scope="module")
def followup_and_admin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_driver(tmp_path_factory.mktemp("followup"), FOLLOWUP_AND_ADMIN)


def scores_and_flags(rows: list[dict[str, Any]]) -> list[tuple[int, list[str]]]:
    return [(r["score"], r["flags"]) for r in rows]


# -- customer side ---------------------------------------------------------------------------------------------


def test_a_paired_kiosk_starts_on_the_question(customer: dict[str, Any]) -> None:
    assert customer["start"]["screen"] == "ask"
    assert customer["start"]["status"] in ("connecting", "synced")


def test_a_follow_up_left_open_by_a_crash_is_released_as_a_timeout_at_start(customer: dict[str, Any]) -> None:
    assert customer["start"]["first_tap"] == [2, '["followup_timeout"]', 0]


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_every_face_press_stores_one_tap_and_shows_thanks_on_the_next_frame(
    customer: dict[str, Any], scale: int
) -> None:
    seen = customer["faces"][f"scale{scale}"]
    assert seen["scores"] == list(range(1, scale + 1))
    assert [p["score"] for p in seen["presses"]] == list(range(1, scale + 1))
    assert all(p["screen_after_release"] == "thanks" for p in seen["presses"]), seen["presses"]
    assert all(p["screen_next_frame"] == "thanks" for p in seen["presses"]), seen["presses"]
    assert all(p["returned_to_ask"] for p in seen["presses"]), seen["presses"]
    rows = [r for r in customer["faces"]["rows"] if r["scale"] == scale]
    assert scores_and_flags(rows) == [(s, []) for s in range(1, scale + 1)]
    assert not any(r["held"] for r in rows)


def test_faces_are_big_touch_targets(customer: dict[str, Any]) -> None:
    width, height = customer["faces"]["window_size"]
    for scale in (3, 4, 5):
        for face_width, face_height in customer["faces"][f"scale{scale}"]["sizes"]:
            assert face_width >= width / 7 and face_height >= height / 3


def test_nps_mode_has_eleven_buttons_zero_left_and_keys_0_to_9(customer: dict[str, Any]) -> None:
    nps = customer["nps"]
    assert nps["labels"] == [str(n) for n in range(11)]
    assert nps["x"] == sorted(nps["x"])
    assert [(r["score"], r["scale"]) for r in nps["rows"]] == [(0, 11), (10, 11), *((d, 11) for d in range(10))]
    assert nps["screen_after_keys"] == "thanks"


def test_keys_1_to_n_act_like_the_faces_and_escape_does_not_exit(customer: dict[str, Any]) -> None:
    keys = customer["keys"]
    assert [r["score"] for r in keys["rows"]] == [1, 2, 3, 4, 2]  # 5 and 0 are not on a 4-face scale
    assert keys["running_after_escape"] is True


def test_presses_inside_the_repeat_interval_are_flagged_and_not_asked_why(customer: dict[str, Any]) -> None:
    repeat = customer["repeat"]
    assert scores_and_flags(repeat["rows"]) == [(1, []), (1, ["repeat"]), (1, ["repeat"])]
    assert repeat["screens"] == ["followup", "thanks", "thanks"]


def test_language_button_cycles_and_falls_back_after_the_customer(customer: dict[str, Any]) -> None:
    lang = customer["language"]
    assert [(code, question) for code, question, _ in lang["seen"]] == [
        ("en", "How was it?"),
        ("nb", "Hvordan var det?"),
        ("de", "Wie war es?"),
        ("en", "How was it?"),
    ]
    assert lang["seen"][0][2] == "[b]English[/b]   Norsk   Deutsch"
    assert lang["thanks_shown"] == "Tusen takk!"
    assert lang["after_customer"] == ["en", "How was it?"]
    assert lang["after_idle"] == ["attract", "en"]


def test_closed_hours_show_the_closed_screen_and_record_nothing(customer: dict[str, Any]) -> None:
    closed = customer["closed"]
    assert closed["screen"] == "closed" and closed["screen_after"] == "closed"
    assert closed["text"] == "Closed. Back at 06:00."
    assert closed["tap_returned"] is None
    assert closed["rows"] == []
    assert closed["screen_when_open"] == "ask"


def test_attract_state_after_idle_and_a_touch_records_nothing(customer: dict[str, Any]) -> None:
    attract = customer["attract"]
    assert (attract["screen_idle"], attract["text"], attract["screen_after_touch"]) == ("attract", "Hello!", "ask")
    assert attract["rows"] == []


def test_config_changed_on_the_server_is_applied_live_and_cached(customer: dict[str, Any]) -> None:
    live = customer["live_config"]
    assert live["after"] == {
        "question": "Changed question?",
        "thanks": "Danke!",
        "scores": [1, 2, 3],
        "followup": ["slow"],
        "opening_hours": {"mon": [["00:00", "24:00"]]},
        "status": "synced",
    }
    assert live["cached_question"] == "Changed question?"


# -- follow-up, comment ---------------------------------------------------------------------------------------


def test_followup_reason_is_stored_with_the_held_tap_and_sent_once(followup_and_admin: dict[str, Any]) -> None:
    f = followup_and_admin["followup"]
    assert f["screen"] == "followup" and f["header"] == "Thanks!"
    assert f["reasons"] == [["queue_time", "Queue time"], ["staff", "The staff"]]
    [open_row] = f["while_open"]
    assert (open_row["held"], open_row["synced"], open_row["followup"]) == (1, False, None)
    assert open_row["id"] not in f["sent_while_open"]  # a sync round ran, but the held tap stayed home
    assert f["screen_after_answer"] == "thanks"
    assert [t for t in f["received"] if t[0] == 1] == [[1, "staff", []]]  # once, with its reason
    assert f["positive_reasons"] == ["fast"]
    assert f["middle_screen"] == "thanks"
    assert f["screen_after_key"] == "followup"  # the new answer (4) gets its own question
    assert [(r["score"], r["followup"], r["flags"], r["held"]) for r in f["rows"]] == [
        (1, "staff", [], 0),
        (5, "fast", [], 0),
        (3, None, [], 0),
        (1, None, ["followup_timeout"], 0),
        (4, None, ["followup_timeout"], 0),
    ]


def test_followup_without_answer_is_a_timeout_and_returns_to_the_question(followup_and_admin: dict[str, Any]) -> None:
    t = followup_and_admin["followup_timeout"]
    assert (t["screen_before"], t["screen_after"]) == ("followup", "ask")
    assert [(r["score"], r["followup"], r["flags"], r["held"]) for r in t["rows"]] == [
        (1, None, ["followup_timeout"], 0)
    ]


def test_comment_typed_on_screen_keys_is_limited_and_stored(followup_and_admin: dict[str, Any]) -> None:
    c = followup_and_admin["comment"]
    assert c["screen"] == "comment"
    assert c["typed"] == "hello worl" and c["counter"] == "10 / 10"
    assert c["after_backspace"] == "hello wor"
    assert c["screen_after_send"] == "thanks"
    assert c["nb_keys"] == ["æ", "ø", "å"]
    assert c["screen_after_cancel"] == "followup"
    assert [(r["score"], r["comment"], r["flags"]) for r in c["rows"]] == [(2, "hello wor", []), (1, None, [])]


# -- several questions (#13) ---------------------------------------------------------------------------------


def stored(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["question_id"], r["scale"], r["score"], r["followup"], r["flags"]) for r in rows]


def test_rotate_asks_each_customer_the_next_question_in_turn_and_a_repeat_does_not_move_it(
    followup_and_admin: dict[str, Any],
) -> None:
    rotate = followup_and_admin["rotate"]
    assert rotate["turn_at_start"] == 0
    assert [(s["question"], s["scores"]) for s in rotate["seen"]] == [
        ("How was security today?", [1, 2, 3, 4, 5]),
        ("Were the staff friendly?", [1, 2, 3]),
        ("Vil du anbefale oss?", list(range(11))),  # no English text: the question's other language
        ("How was security today?", [1, 2, 3, 4, 5]),
    ]
    assert stored(rotate["rows"]) == [
        ("main", 5, 5, None, []),
        ("main", 5, 1, None, ["repeat"]),  # the button box on the thank-you screen: same question, not counted
        ("staff", 3, 3, None, []),
        ("recommend", 11, 10, None, []),
        ("main", 5, 5, None, []),
    ]
    assert all(r["first_tap_id"] is None for r in rotate["rows"])
    assert (rotate["turn_at_end"], rotate["saved_turn"]) == (4, 4)
    assert 0.4 < rotate["nps_row_height_in_pad"] < 0.7  # centred, also when the scale changed off screen


def test_sequence_asks_the_main_question_then_each_aspect_and_links_the_answers(
    followup_and_admin: dict[str, Any],
) -> None:
    seq = followup_and_admin["sequence"]
    assert seq["main_reasons"] == [["queue_time", "Queue"]] and seq["main_comment_offered"] is True
    assert seq["staff"] == {"screen": "aspect", "question": "Were the staff friendly?", "step": "2 / 3",
                            "scores": [1, 2, 3]}  # fmt: skip
    assert seq["skip_label"] == "Skip"
    assert seq["staff_followup"] == ["followup", [["rude", "Rude"], ["slow_staff", "Slow staff"]]]
    assert seq["staff_comment_offered"] is False  # comments go with a customer's first answer only
    assert seq["recommend"] == {"screen": "aspect", "question": "Recommend", "step": "3 / 3",
                                "scores": list(range(11))}  # fmt: skip
    assert seq["after_skip"] == "thanks"
    assert seq["main_positive"] == ["followup", 0, True]
    assert seq["before_timeout"]["question"] == "Recommend"
    assert seq["after_timeout"]["screen"] == "ask"
    assert seq["after_timeout"]["question"] == "How was security today?"
    assert seq["bounce"] == {"screen": "aspect", "stored": False}
    assert seq["after_skips"] == "thanks"

    rows = seq["rows"]
    assert stored(rows) == [
        ("main", 5, 1, "queue_time", []),
        ("staff", 3, 1, "slow_staff", []),  # recommend skipped: nothing stored
        ("main", 5, 5, None, []),
        ("staff", 3, 3, None, []),  # recommend timed out: nothing stored
        ("main", 5, 3, None, []),  # both aspects skipped
    ]
    first, staff1, second, staff2, third = rows
    assert [r["first_tap_id"] for r in rows] == [None, first["id"], None, second["id"], None]
    received = {tap_id: link for tap_id, link in seq["received"].items() if tap_id in {r["id"] for r in rows}}
    assert received == {
        first["id"]: "absent",  # a first tap goes out as before several questions
        staff1["id"]: first["id"],
        second["id"]: "absent",
        staff2["id"]: second["id"],
        third["id"]: "absent",
    }


# -- admin, pairing -------------------------------------------------------------------------------------------


def test_admin_gesture_and_pin(followup_and_admin: dict[str, Any]) -> None:
    a = followup_and_admin["admin"]
    assert a["after_short_press"] == "ask"
    assert a["after_long_press"] == "pin"
    assert a["dots"] == "●●●●"
    assert a["wrong"] == ["pin", "Wrong PIN."]
    assert a["after_wrong"] == "ask"
    assert a["locked"].startswith("Too many wrong PINs: locked, try again in ")
    assert a["right_pin_while_locked"] == "pin"
    assert a["after_right_pin"] == "admin"
    for expected in (
        "Kiosk[/b]   k-test",
        "Server[/b]   http://fake",
        "Queue[/b]   ",
        "Version[/b]   smilepost-kiosk ",
        "Quarantined[/b]   1 refused by the server (kept)",
        "Outbox[/b]   ok",
    ):
        assert expected in a["info"]
    assert a["quarantine"] == {"counts": [1, 0], "quarantined_scores": [3], "received_last": 4}
    assert a["after_back"] == "ask"


def test_revoked_token_keeps_taps_and_repairing_from_admin_works(followup_and_admin: dict[str, Any]) -> None:
    r = followup_and_admin["rejected_then_repair"]
    assert r["status"] == "token rejected" and r["kept"] >= 2
    assert r["screen"] == "pairing" and r["cancel_visible"] == 1
    assert r["code_1234"] == "1 2 3 4   _ _ _ _"
    assert r["message_1234"] == "The pairing code has 8 digits."
    assert r["message_11111111"] == "That code is wrong, used or expired. Create a new one on the server."
    assert r["message_22222222"] == "Too many attempts, try again in 30 s."
    assert r["message_33333333"] == "Paired as kiosk k-new."
    assert [r[f"good_news_{code}"] for code in ("1234", "11111111", "22222222", "33333333")] == [
        False,
        False,
        False,
        True,
    ]
    assert r["screen_after"] == "ask" and r["status_after"] == "synced"
    assert r["credentials"] == ["k-new", "tok-2"]
    assert r["received_scores"] == [1, 2]  # the taps made while the token was refused were kept and sent
