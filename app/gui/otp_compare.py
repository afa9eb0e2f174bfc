"""OTP vs tap: the same transaction authenticated with TOTP, with EMV CAP and with a card tap.

Runs on the tap worker's thread (it uses the verifier's store and the emulated
cards, so it never overlaps a tap). Everything is computed here, with the shared
engine, for one demo user of the data directory's verifier:

* **TOTP** — the verifier enrols an authenticator app once
  (:meth:`~protocol.tap.verifier.Verifier.enrol_totp`); the code "the app shows"
  is computed from that credential (:func:`app.flow.attack_otp.authenticator_code`)
  and typed against a challenge for T (:meth:`verify_totp`);
* **EMV CAP** — the CAP-capable emulated card ``cap-visa-dpa`` in a PINsentry-style
  reader (:func:`app.flow.attack_otp.read_cap`: SELECT, GPO, READ RECORD, VERIFY
  PIN, GENERATE AC, IPB bits) in Identify, Respond or Sign mode; the issuer's
  record of the card is enrolled once; the user types the code and the card number
  (:meth:`verify_cap`);
* **card tap** — :meth:`app.flow.service.TapService.authenticate` with the chosen
  emulated card (enrolled once with this phone).

Cards answer with a real card's pacing, so the times are comparable with real
hardware; enrolments happen before the clock starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

from app.flow.attack_otp import authenticator_code, read_cap
from app.flow.service import TapOptions, TapOutcome, TapService
from app.flow.sources import CardSource, emulated_transport, prepare_emulated
from app.gui.page_data import Comparison, MethodResult
from app.gui.requests import CAP_PROFILE, TransactionInput
from app.gui.worker import build_transaction
from card_emulation.profile import load_profile
from protocol.cap import CapMode, CapRequest
from protocol.masking import mask_pan
from protocol.tap.transaction import Transaction
from protocol.tap.verifier_cap import CapCard, cap_request
from protocol.tap.verifier_result import VerificationResult
from protocol.tap.verifier_store import OtpKind

USER = "demo-otp-vs-tap"
CAP_MODES = {"identify": CapMode.IDENTIFY, "respond": CapMode.RESPOND, "sign": CapMode.SIGN}
Progress = Callable[[object], None]


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _verdict(result: VerificationResult) -> tuple[str, tuple[str, ...]]:
    return result.outcome.value, tuple(result.reasons)


def _grouped(code: str) -> str:
    return f"{code[:len(code) // 2]} {code[len(code) // 2:]}"


# ----------------------------------------------------------------------------- TOTP


def _totp(service: TapService, transaction: Transaction, now: Callable[[], float]) -> MethodResult:
    verifier, note = service.verifier, ""
    token = service.store.otp_token(USER, OtpKind.TOTP)
    step = int(now()) // 30
    if token is None:
        verifier.enrol_totp(USER)
        note = "First run: the verifier enrolled an authenticator app for this user (QR code scanned once)."
    elif token.counter is not None and token.counter >= step:
        verifier.enrol_totp(USER)  # the code of this 30-s window was used by the previous comparison
        note = ("The code of this 30-second window was already used by the previous comparison (a TOTP is good "
                "once), so a fresh authenticator was set up for this run.")  # fmt: skip
    start = time.perf_counter()
    challenge = verifier.issue_challenge(transaction)
    code = authenticator_code(service.store, USER, int(now()))
    result = verifier.verify_totp(USER, code, challenge_id=challenge.challenge_id)
    elapsed = time.perf_counter() - start
    outcome, reasons = _verdict(result)
    return MethodResult(
        "totp", "TOTP (authenticator app)",
        ("Unlock the phone and open the authenticator app", f"Read the 6-digit code it shows: {_grouped(code)}",
         "Type the code into the bank's page (valid ~30 s, for whatever the page is doing)"),
        f"{_grouped(code)} (6 digits)", 6,
        "Nothing: the code depends on the time only. The verifier cannot tell which transaction it was typed for.",
        outcome, reasons, result.checks, elapsed, note, result.events,
    )  # fmt: skip


# ----------------------------------------------------------------------------- CAP


def _cap_card(service: TapService) -> tuple[CardSource, str, str]:
    """The CAP card (personalised on first use), its PIN, and a note when it was enrolled just now."""
    source = CardSource(profile=CAP_PROFILE, timing=True)
    prepare_emulated(source, service.data_dir)
    service.reload_keys()
    pin = load_profile(CAP_PROFILE).applications[0].pin or "1234"
    if service.store.otp_token(USER, OtpKind.CAP) is not None:
        return source, pin, ""
    with closing(emulated_transport(source, service.data_dir)) as transport:
        reading = read_cap(transport, CapRequest(CapMode.IDENTIFY), pin)
    service.verifier.enrol_cap(USER, reading.card())
    return source, pin, "First run: the bank registered this CAP card for the user (issuer's record, no PAN stored)."


def _cap(service: TapService, transaction: Transaction, mode: CapMode) -> MethodResult:
    source, pin, note = _cap_card(service)
    start = time.perf_counter()
    challenge = service.verifier.issue_challenge(transaction) if mode is not CapMode.IDENTIFY else None
    request = cap_request(mode, challenge)
    with closing(emulated_transport(source, service.data_dir)) as transport:
        reading = read_cap(transport, request, pin)
    card: CapCard = reading.card()
    result = service.verifier.verify_cap(USER, reading.code, pan=card.pan, mode=mode,
                                         challenge_id=challenge.challenge_id if challenge else None)  # fmt: skip
    elapsed = time.perf_counter() - start
    outcome, reasons = _verdict(result)
    pan = mask_pan(card.pan)
    steps = ["Insert the card into the CAP reader", f"Choose {mode.value.capitalize()} and enter the PIN (••••)"]
    typed_parts, digits = ["PIN ••••"], len(pin)
    if request.challenge:
        steps.append(f"Key in the challenge shown by the bank: {request.challenge}")
        typed_parts.append(f"challenge {request.challenge}")
        digits += _digits(request.challenge)
    if request.amount_minor is not None:
        steps.append(f"Key in the amount: {request.amount_minor}")
        typed_parts.append(f"amount {request.amount_minor}")
        digits += _digits(str(request.amount_minor))
    steps.append(f"Read the 8-digit code on the reader's screen: {_grouped(reading.code)}")
    steps.append(f"Type the code and the card number ({pan}) into the bank's page")
    typed_parts += [f"code {_grouped(reading.code)}", f"card number {pan}"]
    digits += _digits(reading.code) + len(card.pan)
    bound = {
        CapMode.IDENTIFY: "Nothing: an Identify code covers no challenge and no amount.",
        CapMode.RESPOND: "The challenge digits only (from the bank's screen): a phishing page can show another "
                         "transaction's challenge.",
        CapMode.SIGN: "The challenge and the amount the user keys into their own reader (not the payee, "
                      "currency or type).",
    }[mode]  # fmt: skip
    return MethodResult(
        "cap", f"EMV CAP {mode.value.capitalize()} (PINsentry-style reader)", tuple(steps), " · ".join(typed_parts),
        digits, bound, outcome, reasons, result.checks, elapsed, note, result.events,
    )  # fmt: skip


# ----------------------------------------------------------------------------- tap


def _tap(service: TapService, transaction: Transaction, profile: str) -> MethodResult:
    source = CardSource(profile=profile, timing=True)
    prepare_emulated(source, service.data_dir)
    service.reload_keys()
    note = ""
    if not service.is_enrolled(USER, source):
        with closing(emulated_transport(source, service.data_dir, with_faults=False)) as clean:
            service.enrol(USER, clean)
        note = "First run: the card was enrolled with this phone (one enrolment tap, not timed)."
    start = time.perf_counter()
    with closing(emulated_transport(source, service.data_dir)) as transport:
        outcome: TapOutcome = service.authenticate(USER, transaction, transport, options=TapOptions())
    elapsed = time.perf_counter() - start
    if outcome.verification is not None:
        verdict, reasons = _verdict(outcome.verification)
        checks = outcome.verification.checks
    else:
        verdict, reasons, checks = "FAILED", (outcome.message,), ()
    return MethodResult(
        "tap", "Card tap (TrustOne model)",
        ("The phone shows the transaction; the user checks it and confirms",
         "Hold the card against the phone until it beeps (well under a second)"),
        "nothing", 0,
        "Everything: the card's cryptogram covers the amount, currency, date, type and an unpredictable number "
        "derived from the verifier's challenge and H(T) (payee included); the phone signs it with its device key.",
        verdict, reasons, checks, elapsed, note, outcome.events,
    )  # fmt: skip


def compare(
    entry: TransactionInput,
    *,
    data_dir: Path | str | None,
    profile: str,
    cap_mode: str = "sign",
    now: Callable[[], float] = time.time,
    progress: Progress | None = None,
) -> Comparison:
    """Authenticate ``entry`` three ways (see the module docstring); the verdicts are the verifier's."""
    transaction = build_transaction(entry, int(now()))
    mode = CAP_MODES.get(cap_mode, CapMode.SIGN)
    tell = progress or (lambda _text: None)
    with TapService(data_dir, now=now) as service:
        tell("TOTP: the authenticator app's code…")
        totp = _totp(service, transaction, now)
        tell("EMV CAP: the card in the reader…")
        cap = _cap(service, transaction, mode)
        tell("Card tap…")
        tap = _tap(service, transaction, profile)
    return Comparison(entry.describe(), (totp, cap, tap))
