"""Admin PIN hashing: made by the server, checked offline by the kiosk."""

from __future__ import annotations

import pytest

from shared.pins import hash_pin, verify_pin


def test_right_pin_verifies_and_wrong_pin_does_not() -> None:
    stored = hash_pin("2468", iterations=1000)
    assert verify_pin("2468", stored) is True
    assert verify_pin("2469", stored) is False
    assert "2468" not in stored


def test_same_pin_gets_a_different_salt_each_time() -> None:
    assert hash_pin("2468", iterations=1000) != hash_pin("2468", iterations=1000)


def test_known_vector() -> None:
    # PBKDF2-HMAC-SHA256("1234", salt=00*16, 1000 rounds), computed independently with hashlib.
    import hashlib

    expected = hashlib.pbkdf2_hmac("sha256", b"1234", bytes(16), 1000).hex()
    assert hash_pin("1234", salt=bytes(16), iterations=1000) == f"pbkdf2_sha256$1000${'00' * 16}${expected}"


@pytest.mark.parametrize("pin", ["", "123", "12a4", "1234567890123", " 1234"])
def test_pin_must_be_4_to_12_digits(pin: str) -> None:
    with pytest.raises(ValueError, match="4 to 12 digits"):
        hash_pin(pin)


@pytest.mark.parametrize("stored", ["", "md5$1$00$00", "pbkdf2_sha256$x$00$00", "pbkdf2_sha256$10$zz$00"])
def test_malformed_hash_is_a_value_error(stored: str) -> None:
    with pytest.raises(ValueError):
        verify_pin("1234", stored)
