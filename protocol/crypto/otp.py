"""HOTP and TOTP one-time passwords (RFC 4226, RFC 6238): the codes card tap replaces.

The HMAC and the dynamic truncation are *not* written here: they come from
``cryptography``'s two-factor module through :func:`protocol.crypto.primitives.hotp`
and :func:`~protocol.crypto.primitives.totp`. This module adds what a verifier
needs around them:

* key objects (:class:`HotpKey`, :class:`TotpKey`) whose ``repr`` never shows the
  secret, validated once when built;
* verification with a look-ahead window that *raises*
  :class:`~protocol.errors.VerificationError` (check ``"HOTP"`` / ``"TOTP"``) and
  on success returns what the verifier must store next: the new HOTP counter
  (RFC 4226 §7.2: the counter is only advanced after a successful validation) or
  the matched TOTP time step, so that a second use of the same step can be refused
  (RFC 6238 §5.2);
* base32 secret parsing for what people paste from ``otpauth://`` URIs and
  authenticator apps (RFC 4648 §6 alphabet, padding optional, case and spaces
  ignored), with a typed error that never echoes the secret.

Codes are compared in constant time (RFC 4226 §7.1 leaves this to the verifier;
timing leaks are cheap to avoid).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from protocol.crypto import primitives
from protocol.errors import MalformedDataError, UsageError, VerificationError

#: Hash functions RFC 6238 §1.2 allows (HOTP itself is HMAC-SHA-1, RFC 4226 §5.2).
ALGORITHMS = ("SHA1", "SHA256", "SHA512")
#: Largest HOTP look-ahead accepted (RFC 4226 §7.4 calls it the resynchronisation
#: parameter *s*; a large *s* weakens the code, so a bound is enforced).
MAX_LOOK_AHEAD = 1000
#: Largest TOTP window, in time steps either side (RFC 6238 §5.2 recommends at most
#: one step of network delay).
MAX_WINDOW = 100
_COUNTER_LIMIT = 1 << 64  # the counter is an 8-byte value (RFC 4226 §5.1)
_BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_VALID_BASE32_TAILS = (0, 2, 4, 5, 7)  # characters in a last, partial 8-character group


class SecretFormatError(MalformedDataError):
    """A pasted OTP secret is not valid base32. The message never contains the secret."""

    def __init__(self, reason: str, offset: int | None = None) -> None:
        super().__init__(reason, offset, what="base32 secret")


def _check_common(secret: bytes, digits: int, algorithm: str) -> str:
    if not isinstance(secret, bytes):
        raise UsageError(f"OTP secret must be bytes, got {type(secret).__name__}")
    if not isinstance(digits, int) or digits not in (6, 7, 8):
        raise UsageError(f"OTP length must be 6, 7 or 8 digits, got {digits!r}")
    name = str(algorithm).upper().replace("-", "")
    if name not in ALGORITHMS:
        raise UsageError(f"OTP hash must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if len(secret) < 16:
        # RFC 4226 §4 requirement R6: at least 128 bits of shared secret.
        raise UsageError(f"OTP secret must be at least 16 bytes (RFC 4226 R6), got {len(secret)}")
    return name


@dataclass(frozen=True, repr=False)
class HotpKey:
    """A shared HOTP secret with its parameters (RFC 4226 §5). ``repr`` hides the secret."""

    secret: bytes
    digits: int = 6
    algorithm: str = "SHA1"

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", _check_common(self.secret, self.digits, self.algorithm))

    @classmethod
    def from_base32(cls, text: str, digits: int = 6, algorithm: str = "SHA1") -> HotpKey:
        return cls(parse_base32_secret(text), digits, algorithm)

    def __repr__(self) -> str:
        return f"HotpKey({self.algorithm}, {self.digits} digits, secret=<{len(self.secret)} bytes>)"


@dataclass(frozen=True, repr=False)
class TotpKey:
    """A shared TOTP secret with its parameters (RFC 6238 §4). ``repr`` hides the secret.

    ``step`` is X (seconds per time step, default 30) and ``t0`` is T0 (the Unix
    time to start counting steps from, default 0).
    """

    secret: bytes
    digits: int = 6
    algorithm: str = "SHA1"
    step: int = 30
    t0: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "algorithm", _check_common(self.secret, self.digits, self.algorithm))
        if not isinstance(self.step, int) or self.step <= 0:
            raise UsageError(f"TOTP time step must be a positive number of seconds, got {self.step!r}")
        if not isinstance(self.t0, int) or self.t0 < 0:
            raise UsageError(f"TOTP T0 must be a non-negative Unix time, got {self.t0!r}")

    @classmethod
    def from_base32(
        cls, text: str, digits: int = 6, algorithm: str = "SHA1", step: int = 30, t0: int = 0
    ) -> TotpKey:
        return cls(parse_base32_secret(text), digits, algorithm, step, t0)

    def time_step(self, unix_time: int) -> int:
        """T = floor((unix_time - T0) / X) (RFC 6238 §4.2)."""
        if not isinstance(unix_time, int) or unix_time < self.t0:
            raise UsageError(f"time {unix_time!r} is before T0 = {self.t0}")
        return (unix_time - self.t0) // self.step

    def __repr__(self) -> str:
        return (
            f"TotpKey({self.algorithm}, {self.digits} digits, {self.step} s, T0={self.t0}, "
            f"secret=<{len(self.secret)} bytes>)"
        )


@dataclass(frozen=True)
class HotpMatch:
    """A successful HOTP check.

    ``counter`` matched; ``next_counter`` (= ``counter + 1``) is what the verifier
    must store; ``skipped`` is how many counter values the token was ahead of the
    verifier (RFC 4226 §7.4 resynchronisation).
    """

    counter: int
    next_counter: int
    skipped: int


@dataclass(frozen=True)
class TotpMatch:
    """A successful TOTP check: the matched time step and its drift from "now".

    Store ``time_step`` and pass it back as ``last_used_step`` next time: RFC 6238
    §5.2 forbids accepting the same code (time step) twice.
    """

    time_step: int
    drift: int


def _check_counter(counter: int) -> None:
    if not isinstance(counter, int) or not 0 <= counter < _COUNTER_LIMIT:
        raise UsageError(f"HOTP counter must be an integer 0 .. 2^64-1, got {counter!r}")


def hotp(key: HotpKey, counter: int) -> str:
    """The HOTP value for ``counter`` as a zero-padded decimal string (RFC 4226 §5.3)."""
    _check_counter(counter)
    return primitives.hotp(key.secret, counter, key.digits, key.algorithm)


def totp(key: TotpKey, unix_time: int) -> str:
    """The TOTP value at ``unix_time`` (RFC 6238 §4.2)."""
    step = key.time_step(unix_time)
    if key.t0 == 0:
        return primitives.totp(key.secret, unix_time, key.digits, key.algorithm, key.step)
    return _totp_at_step(key, step)


def _totp_at_step(key: TotpKey, step: int) -> str:
    # RFC 6238 §4.2: TOTP = HOTP(K, T) with the time-step number T as the counter.
    return primitives.hotp(key.secret, step, key.digits, key.algorithm)


def _check_code(check: str, code: str, digits: int) -> bytes:
    if not isinstance(code, str):
        raise UsageError(f"{check} code must be a string of digits, got {type(code).__name__}")
    text = code.strip()
    if len(text) != digits or not text.isascii() or not text.isdigit():
        raise VerificationError(check, f"a code has exactly {digits} decimal digits, got {len(text)} characters")
    return text.encode("ascii")


def hotp_verify(key: HotpKey, code: str, counter: int, look_ahead: int = 10) -> HotpMatch:
    """Check ``code`` against counters ``counter .. counter + look_ahead`` (RFC 4226 §7.2, §7.4).

    ``counter`` is the next counter value the verifier expects. On success returns
    the matching counter and ``next_counter`` = matching counter + 1, which the
    verifier must store (so the same code is never accepted twice). Raises
    :class:`VerificationError` (check ``"HOTP"``) when nothing in the window matches.
    """
    _check_counter(counter)
    if not isinstance(look_ahead, int) or not 0 <= look_ahead <= MAX_LOOK_AHEAD:
        raise UsageError(f"HOTP look-ahead must be 0 .. {MAX_LOOK_AHEAD}, got {look_ahead!r}")
    presented = _check_code("HOTP", code, key.digits)
    last = min(counter + look_ahead, _COUNTER_LIMIT - 1)
    for candidate in range(counter, last + 1):
        expected = primitives.hotp(key.secret, candidate, key.digits, key.algorithm).encode("ascii")
        if primitives.constant_time_equal(expected, presented):
            return HotpMatch(candidate, candidate + 1, candidate - counter)
    raise VerificationError(
        "HOTP", f"code does not match counters {counter} .. {last} (look-ahead {look_ahead})"
    )


def totp_verify(
    key: TotpKey,
    code: str,
    unix_time: int,
    window: int = 1,
    last_used_step: int | None = None,
) -> TotpMatch:
    """Check ``code`` against time steps T - window .. T + window (RFC 6238 §5.2).

    Steps at or below ``last_used_step`` (the step of the last accepted code) are
    refused, so a code cannot be replayed within its validity window. The current
    step is tried first, then the nearest ones. Returns the matched step; raises
    :class:`VerificationError` (check ``"TOTP"``) otherwise.
    """
    if not isinstance(window, int) or not 0 <= window <= MAX_WINDOW:
        raise UsageError(f"TOTP window must be 0 .. {MAX_WINDOW} steps, got {window!r}")
    now = key.time_step(unix_time)
    presented = _check_code("TOTP", code, key.digits)
    candidates = sorted(range(max(0, now - window), now + window + 1), key=lambda s: (abs(s - now), s))
    replayed: int | None = None
    for candidate in candidates:
        expected = _totp_at_step(key, candidate).encode("ascii")
        if primitives.constant_time_equal(expected, presented):
            if last_used_step is not None and candidate <= last_used_step:
                replayed = candidate
                continue
            return TotpMatch(candidate, candidate - now)
    if replayed is not None:
        raise VerificationError(
            "TOTP", f"code was already used: time step {replayed} is not after the last accepted step {last_used_step}"
        )
    raise VerificationError("TOTP", f"code does not match time steps {max(0, now - window)} .. {now + window}")


def parse_base32_secret(text: str) -> bytes:
    """Decode a base32 secret as people paste it (RFC 4648 §6).

    Spaces, tabs, hyphens and ``=`` padding are ignored, case does not matter,
    missing padding is added. Raises :class:`SecretFormatError` for anything else;
    the message gives the position of a bad character, never the secret itself.
    """
    if not isinstance(text, str):
        raise UsageError(f"base32 secret must be a string, got {type(text).__name__}")
    cleaned = "".join(ch for ch in text if ch not in " \t\r\n-").upper()
    stripped = cleaned.rstrip("=")
    if not stripped:
        raise SecretFormatError("the secret is empty")
    for position, ch in enumerate(stripped):
        if ch not in _BASE32_ALPHABET:
            what = "padding '=' inside the secret" if ch == "=" else "a character outside the base32 alphabet A-Z 2-7"
            raise SecretFormatError(f"{what} at position {position}", position)
    if len(stripped) % 8 not in _VALID_BASE32_TAILS:
        raise SecretFormatError(f"{len(stripped)} base32 characters cannot encode whole bytes")
    padded = stripped + "=" * (-len(stripped) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError):  # pragma: no cover - excluded by the checks above
        raise SecretFormatError("not valid base32") from None


def format_base32_secret(secret: bytes, group: int = 4) -> str:
    """Base32 of ``secret`` without padding, in groups of ``group`` characters (0: no groups)."""
    if not isinstance(secret, bytes):
        raise UsageError(f"secret must be bytes, got {type(secret).__name__}")
    text = base64.b32encode(secret).decode("ascii").rstrip("=")
    if group <= 0:
        return text
    return " ".join(text[i : i + group] for i in range(0, len(text), group))
