"""Redaction of personal data in comments (server.privacy.redact): e-mails, phone numbers of Norway, Germany,
the UK and the US, and Luhn-valid card numbers are replaced; the numbers customers write about their trip stay."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.privacy.redact import luhn_valid, redact

MUST_REDACT = [
    # e-mail addresses
    ("mail me: ola.nordmann@example.no", "mail me: [email]"),
    ("Kari+feedback@post.example.co.uk thanks", "[email] thanks"),
    ("jürgen@beispiel.de", "[email]"),
    # Norway
    ("+47 412 34 567", "[phone]"),
    ("+4741234567", "[phone]"),
    ("0047 41 23 45 67", "[phone]"),
    ("ring 412 34 567!", "ring [phone]!"),
    ("ring 41 23 45 67.", "ring [phone]."),
    ("sms 41234567", "sms [phone]"),
    ("22 12 34 56", "[phone]"),
    # Germany
    ("+49 30 1234567", "[phone]"),
    ("+49 (0)30 1234567", "[phone]"),
    ("+49 151 23456789", "[phone]"),
    ("Tel. 030 1234567", "Tel. [phone]"),
    ("030/1234567", "[phone]"),
    ("0151 23456789", "[phone]"),
    ("0151-23456789", "[phone]"),
    # the UK
    ("+44 7700 900123", "[phone]"),
    ("+44 (0)20 7946 0958", "[phone]"),
    ("07700 900123", "[phone]"),
    ("020 7946 0958", "[phone]"),
    # the US
    ("(415) 555-2671", "[phone]"),
    ("call (415) 555-2671 now", "call [phone] now"),
    ("415-555-2671", "[phone]"),
    ("415.555.2671", "[phone]"),
    ("+1 415 555 2671", "[phone]"),
    ("+1 (415) 555-2671", "[phone]"),
    # card-like numbers (test numbers of the card schemes)
    ("4111 1111 1111 1111", "[card]"),
    ("4111-1111-1111-1111", "[card]"),
    ("card 4111111111111111 was charged twice", "card [card] was charged twice"),
    ("5555 5555 5555 4444", "[card]"),
    ("3782 822463 10005", "[card]"),
    ("6011000990139424", "[card]"),
    # several at once
    ("a@b.no or 41234567", "[email] or [phone]"),
]

MUST_SURVIVE = [
    "Flight SK4035 was late",
    "DY1302 to Bergen",
    "LH 2463 boarding",
    "SK 4035",
    "Gate B12 was moved to C3",
    "Waited from 12:45 to 13:30",
    "Boarding at 7.30",
    "Coffee was 249 kr",
    "Sandwich €12.50, water $3.99",
    "A jacket for 1 299,-",
    "Price 1 299,- for 3 people",
    "On 26.11.2026 the queue was long",
    "26/11/2026 and 2026-11-26",
    "Gate 52",
    "3 people in the queue",
    "20 minutes",
    "We waited 45 min at gate 12 with 200 others",
    "Back in 2025 it was better than 2026",
    "0150 Oslo",
    "Karl Johans gate 22, 0159 Oslo",
    "10115 Berlin",
    "SW1A 1AA London",
    "Order 12345",
    "4111 1111 1111 1112",  # not Luhn-valid
    "10/10 would fly again",
    "Score 9 of 10, 100%",
    "Rated it 5 stars, 2 times",
    "",
    "No numbers at all",
]


@pytest.mark.parametrize(("text", "expected"), MUST_REDACT)
def test_personal_data_is_replaced_by_its_placeholder(text, expected):
    assert redact(text) == (expected, True)


@pytest.mark.parametrize("text", MUST_SURVIVE)
def test_trip_details_and_short_numbers_survive(text):
    assert redact(text) == (text, False)


def test_no_comment_is_no_comment():
    assert redact(None) == (None, False)


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("0", True), ("1", False)],
)
def test_luhn_check(digits, valid):
    assert luhn_valid(digits) is valid


# --- properties ----------------------------------------------------------------------------------------------

words = st.sampled_from(
    ["the", "queue", "was", "slow", "SK4035", "gate", "B12", "12:45", "249 kr", "3 people", "2026", "0150 Oslo",
     "€12.50", "1 299,-", "26.11.2026", "takk!", "Grüße", "ærlig", "(nice)", "-", ",", "."]
)  # fmt: skip
filler = st.lists(words, max_size=6).map(" ".join)
local_parts = st.from_regex(r"[a-z][a-z0-9._+-]{0,15}", fullmatch=True)
domains = st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z]{2,6}){1,2}", fullmatch=True)
emails = st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains)
norwegian = st.builds(
    lambda first, rest, form: form.format(n=f"{first}{rest:07d}"),
    st.integers(2, 9),
    st.integers(0, 9_999_999),
    st.sampled_from(["{n}", "+47 {n}", "+47{n}", "0047 {n}"]),
)
grouped = st.builds(
    lambda first, rest, form: form(f"{first}{rest:07d}"),
    st.integers(2, 9),
    st.integers(0, 9_999_999),
    st.sampled_from([lambda n: f"{n[:3]} {n[3:5]} {n[5:]}", lambda n: f"{n[:2]} {n[2:4]} {n[4:6]} {n[6:]}"]),
)
us = st.builds(
    lambda area, exchange, line, form: form.format(a=area, e=exchange, l=f"{line:04d}"),
    st.integers(200, 999),
    st.integers(200, 999),
    st.integers(0, 9999),
    st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "+1 {a} {e} {l}"]),
)
german = st.builds(lambda n: f"0151 {n:08d}", st.integers(0, 99_999_999))
uk = st.builds(lambda n: f"07700 {n:06d}", st.integers(0, 999_999))


def _with_check_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


cards = st.builds(
    lambda first, rest, spaced: (lambda n: " ".join(n[i : i + 4] for i in range(0, 16, 4)) if spaced else n)(
        _with_check_digit(f"{first}{rest:014d}")
    ),
    st.sampled_from("3456"),
    st.integers(0, 10**14 - 1),
    st.booleans(),
)
personal = st.one_of(emails, norwegian, grouped, us, german, uk, cards)


@given(before=filler, secret=personal, after=filler)
def test_redacted_text_never_holds_the_personal_data(before, secret, after):
    text, changed = redact(f"{before} {secret} {after}")
    assert changed
    assert secret not in text


@given(st.one_of(st.text(max_size=80), st.builds(lambda a, s, b: f"{a} {s} {b}", filler, personal, filler)))
def test_redacting_twice_changes_nothing_more(text):
    once, _ = redact(text)
    assert redact(once) == (once, False)


@given(st.text(alphabet=st.characters(exclude_categories=["Nd"], exclude_characters="@"), max_size=200))
def test_text_without_digits_or_at_signs_is_returned_as_it_is(text):
    assert redact(text) == (text, False)
