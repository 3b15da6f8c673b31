"""Admin PIN hashing: made by the server, checked offline by the kiosk."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared import pins
from shared.pins import hash_pin, needs_update, verify_pin

SALT = "00" * 16
HASH = "00" * 32


def cheap_hash(pin: str, salt: bytes | None = None) -> str:
    """A new-format hash with fast scrypt parameters (n=16, r=1, p=1); the defaults are checked once below."""
    return hash_pin(pin, salt=salt, n=16, r=1, p=1)


def legacy_hash(pin: str, iterations: int = 1000) -> str:
    """A hash in the old format, as shared.pins made it before scrypt (PBKDF2-HMAC-SHA256, zero salt)."""
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes(16), iterations)
    return f"pbkdf2_sha256${iterations}${SALT}${digest.hex()}"


def test_right_pin_verifies_and_wrong_pin_does_not() -> None:
    stored = cheap_hash("246813")
    assert verify_pin("246813", stored) is True
    assert verify_pin("246814", stored) is False
    assert verify_pin("2468130", stored) is False
    assert verify_pin("", stored) is False
    assert "246813" not in stored


def test_a_new_hash_is_scrypt_with_the_default_parameters_and_needs_no_update() -> None:
    stored = hash_pin("80417253")

    assert stored.startswith(f"scrypt${2**15}$8$1$")
    assert verify_pin("80417253", stored) is True
    assert needs_update(stored) is False


def test_same_pin_gets_a_different_salt_each_time() -> None:
    assert cheap_hash("246813") != cheap_hash("246813")


def test_known_vector() -> None:
    # scrypt("123456", salt=00*16, n=16, r=1, p=1, 32 bytes), computed independently with hashlib.
    expected = hashlib.scrypt(b"123456", salt=bytes(16), n=16, r=1, p=1, dklen=32).hex()
    assert cheap_hash("123456", salt=bytes(16)) == f"scrypt$16$1$1${SALT}${expected}"


@pytest.mark.parametrize("pin", ["1234", "4711", "0000"])
def test_an_old_pbkdf2_hash_of_a_short_pin_still_verifies(pin: str) -> None:
    stored = legacy_hash(pin)

    assert verify_pin(pin, stored) is True
    assert verify_pin("9999", stored) is False


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        (legacy_hash("1234"), True),
        (legacy_hash("80417253", iterations=200_000), True),  # the old format whatever the PIN
        (f"scrypt${2**14}$8$1${SALT}${HASH}", True),  # less memory
        (f"scrypt${2**15}$4$2${SALT}${HASH}", True),  # same work, half the memory
        (f"scrypt$16$1$1${SALT}${HASH}", True),  # test parameters
        (f"scrypt${2**15}$8$1${SALT}${HASH}", False),  # the defaults
        (f"scrypt${2**16}$8$1${SALT}${HASH}", False),  # stronger
        (f"scrypt${2**15}$8$2${SALT}${HASH}", False),
    ],
    ids=["old-4-digit", "old-default", "n-2^14", "r4-p2", "cheap", "defaults", "n-2^16", "p2"],
)
def test_needs_update_for_the_old_format_and_weaker_parameters(stored: str, expected: bool) -> None:
    assert needs_update(stored) is expected


@pytest.mark.parametrize("pin", ["", "123", "1234", "12345", "12a456", "1234567890123", " 123456", "١٢٣٤٥٦"])
def test_a_new_pin_must_be_6_to_12_digits(pin: str) -> None:
    with pytest.raises(ValueError, match="^a PIN is 6 to 12 digits$"):
        cheap_hash(pin)


@pytest.mark.parametrize("pin", ["123456", "123456789012"])
def test_6_and_12_digits_are_accepted(pin: str) -> None:
    assert verify_pin(pin, cheap_hash(pin))


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "2468",
        "md5$1$00$00",
        "pbkdf2_sha256$x$00$00",
        "pbkdf2_sha256$10$zz$00",
        f"pbkdf2_sha256$1000${SALT}${HASH}$",
        f"pbkdf2_sha256$1000${'AB' * 16}${HASH}",  # upper-case hex
        f"scrypt$16$1${SALT}${HASH}",  # no p
        f"scrypt$16$1$1${SALT}${HASH[:-2]}",  # 31-byte hash
        f"scrypt$16$1$1$00${HASH}",  # 1-byte salt
        f"scrypt$16$1$1${SALT}${HASH}\n",
        f"scrypt$-16$1$1${SALT}${HASH}",
    ],
)
def test_malformed_hash_is_a_value_error(stored: str) -> None:
    with pytest.raises(ValueError):
        verify_pin("123456", stored)
    with pytest.raises(ValueError):
        needs_update(stored)


@pytest.fixture
def no_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any scrypt or PBKDF2 call fail the test: what is refused must be refused before hashing."""

    def refuse(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("hashed (and allocated) before refusing the parameters")

    monkeypatch.setattr(hashlib, "scrypt", refuse)
    monkeypatch.setattr(hashlib, "pbkdf2_hmac", refuse)


@pytest.mark.parametrize(
    "params",
    [
        f"{2**20}$8$1",  # 1 GiB
        f"{2**17}$1$1",  # n above the cap
        f"{2**16}$16$1",  # 128 MiB
        f"{2**16}$8$2",  # 64 MiB twice
        f"{2**14}$8$5",  # p above the cap
        f"{2**10}$17$1",  # r above the cap
        "999999$1$1",
        "24$8$1",  # not a power of two
        "1$8$1",
        "0$8$1",
        "16$0$1",
        "16$1$0",
    ],
)
def test_hostile_scrypt_parameters_are_refused_before_hashing(no_hashing: None, params: str) -> None:
    with pytest.raises(ValueError, match="^scrypt "):
        verify_pin("123456", f"scrypt${params}${SALT}${HASH}")


@pytest.mark.parametrize("iterations", [0, pins.MAX_PBKDF2_ITERATIONS + 1, 9_999_999])
def test_hostile_pbkdf2_iterations_are_refused_before_hashing(no_hashing: None, iterations: int) -> None:
    with pytest.raises(ValueError, match="iterations"):
        verify_pin("1234", f"pbkdf2_sha256${iterations}${SALT}${HASH}")


def test_hash_pin_refuses_parameters_a_kiosk_would_refuse(no_hashing: None) -> None:
    with pytest.raises(ValueError, match="^scrypt "):
        hash_pin("123456", n=2**20)


def test_the_largest_accepted_parameters_fit_the_memory_bound() -> None:
    assert needs_update(f"scrypt${pins.MAX_N}$8$1${SALT}${HASH}") is False
    assert needs_update(f"scrypt$16${pins.MAX_R}${pins.MAX_P}${SALT}${HASH}") is True
    assert 128 * pins.R * pins.N * pins.P <= pins.MAX_SCRYPT_BYTES
