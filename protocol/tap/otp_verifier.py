"""The one-time passwords card tap replaces, verified by the same verifier (DESIGN.md §3 "The OTP flows").

* **TOTP** (RFC 6238) and **HOTP** (RFC 4226): enrolment makes a random shared
  secret (160 bits for SHA-1, RFC 4226 §4 R6; 256/512 bits for SHA-256/512 as
  in RFC 6238 Appendix A) and an ``otpauth://`` URI for display; verification
  accepts a window (TOTP: ±``totp_window`` steps, RFC 6238 §5.2; HOTP: a
  look-ahead, RFC 4226 §7.4) and never the same time step or counter twice —
  the stored step/counter is advanced with a conditional update, atomically with
  the audit record.
* **EMV CAP** (Identify / Respond / Sign; :mod:`protocol.cap`): the verifier holds
  the issuer master keys (key store) and the issuer's record of the card
  (:class:`CapCard`: AID, PSN, AIP, IPB, IAF, CDOL1 and the IAD the card returns
  after a correct PIN). For a typed code it recomputes the CAP ARQC for each
  candidate ATC after the last one accepted (a bounded window), extracts the IPB
  bits and compares; the card's ATC is then raised, so a code is accepted at
  most once per ATC. The PAN is never stored (only ``card_ref``): the user types
  the card number with the code, as online banking CAP logins ask for it.

Results are :class:`~protocol.tap.verifier_result.VerificationResult` with named
checks, so the app renders an OTP verification like a tap. Each OTP check list
ends with an *informative* ``transaction binding`` check: a TOTP/HOTP or CAP
Identify code is bound to no transaction at all, which is why a real-time
phishing relay of the code for another transaction is accepted (DESIGN.md §3
attack table).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from protocol import cap
from protocol.cap import CapMode, CapRequest
from protocol.crypto import otp
from protocol.errors import ProtocolError, UsageError, VerificationError
from protocol.keystore import KeyStore
from protocol.masking import mask_pan
from protocol.tap import enrolment as enrol
from protocol.tap.challenge import Challenge
from protocol.tap.events import CheckStatus, Lane, MessageSent, Outcome, Step
from protocol.tap.verifier_cap import CapCard, CapCodes, CapEnrolment, CapParams, cap_request
from protocol.tap.verifier_result import (
    ATC_INCREASING, CAP_CARD, CAP_CODE, COUNTER_ADVANCED, HOTP_CODE, OTP_ENROLLED, TIME_STEP_UNUSED, TOTP_CODE,
    TRANSACTION_BINDING, Recorder, VerificationResult, decide, iso, report_challenge,
)  # fmt: skip
from protocol.tap.verifier_store import (
    AtcRaise, AuditKind, AuditRecord, ChallengePurpose, OtpKind, OtpToken, VerifierStore,
)  # fmt: skip

ISSUER = "TrustOne Simulator"
SECRET_BYTES = {"SHA1": 20, "SHA256": 32, "SHA512": 64}
CAP_WINDOW = 20
MAX_ATC = 0xFFFF  # the ATC never wraps (Book 3 Annex A, 9F36)
INFORMATIVE = frozenset({TRANSACTION_BINDING})
REFERENCE = {"totp": "RFC 6238", "hotp": "RFC 4226", "cap": "EMV CAP (public descriptions; protocol.cap)"}


@dataclass(frozen=True, repr=False)
class OtpEnrolment:
    """A new TOTP/HOTP credential: show ``uri`` (or ``secret_base32``) once. ``repr`` hides the secret."""

    user_id: str
    kind: OtpKind
    secret: bytes
    digits: int
    algorithm: str
    uri: str
    period: int | None = None
    counter: int | None = None

    @property
    def secret_base32(self) -> str:
        return otp.format_base32_secret(self.secret, group=0)

    def __repr__(self) -> str:
        return (f"OtpEnrolment({self.user_id!r}, {self.kind.value}, {self.algorithm}, {self.digits} digits, "
                "<secret hidden>)")  # fmt: skip


@dataclass
class _Attempt:
    """One OTP verification being checked (internal)."""

    kind: AuditKind
    user_id: str
    challenge_id: str | None
    rec: Recorder = field(default_factory=Recorder)
    challenge: Challenge | None = None
    consumed: bool = False
    masked_pan: str | None = None


class OtpVerifier:
    """TOTP, HOTP and CAP enrolment and verification over the verifier's store."""

    def __init__(
        self,
        store: VerifierStore,
        *,
        keystore: KeyStore,
        now: Callable[[], int],
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        totp_window: int = 1,
        hotp_look_ahead: int = 10,
        cap_window: int = CAP_WINDOW,
    ) -> None:
        self.store, self.keystore, self._now, self._random = store, keystore, now, random_bytes
        self.totp_window, self.hotp_look_ahead, self.cap_window = totp_window, hotp_look_ahead, cap_window

    # ------------------------------------------------------------------ TOTP / HOTP enrolment

    def enrol_totp(
        self, user_id: str, *, digits: int = 6, algorithm: str = "SHA1", period: int = 30, issuer: str = ISSUER
    ) -> OtpEnrolment:
        """A new TOTP secret for ``user_id`` (replacing any previous one)."""
        return self._enrol(OtpKind.TOTP, user_id, digits, algorithm, issuer, period=period)

    def enrol_hotp(
        self, user_id: str, *, digits: int = 6, algorithm: str = "SHA1", issuer: str = ISSUER
    ) -> OtpEnrolment:
        """A new HOTP secret for ``user_id``, counter 0 (replacing any previous one)."""
        return self._enrol(OtpKind.HOTP, user_id, digits, algorithm, issuer, counter=0)

    def _enrol(self, kind: OtpKind, user_id: str, digits: int, algorithm: str, issuer: str, *,
               period: int | None = None, counter: int | None = None) -> OtpEnrolment:  # fmt: skip
        enrol.check_user_id(user_id)
        name = str(algorithm).upper().replace("-", "")
        if name not in SECRET_BYTES:
            raise UsageError(f"OTP hash must be one of {', '.join(SECRET_BYTES)}")
        secret = bytes(self._random(SECRET_BYTES[name]))
        params: dict[str, object] = {"digits": digits, "algorithm": name}
        if kind is OtpKind.TOTP:
            otp.TotpKey(secret, digits, name, period or 30)  # validates the parameters
            params["period"] = period or 30
        else:
            otp.HotpKey(secret, digits, name)
        label = quote(f"{issuer}:{user_id}", safe=":@")
        extra = f"period={period}" if kind is OtpKind.TOTP else f"counter={counter}"
        uri = (f"otpauth://{kind.value}/{label}?secret={otp.format_base32_secret(secret, group=0)}"
               f"&issuer={quote(issuer)}&algorithm={name}&digits={digits}&{extra}")  # fmt: skip
        audit = AuditRecord(self._now(), AuditKind(kind.value), Outcome.ACCEPT,
                            (f"{kind.value.upper()} credential enrolled",), user_id=user_id)  # fmt: skip
        self.store.save_otp_token(OtpToken(user_id, kind, params, secret, counter, self._now()), None, audit)
        return OtpEnrolment(user_id, kind, secret, digits, name, uri, period, counter)

    # ------------------------------------------------------------------ TOTP / HOTP verification

    def verify_totp(self, user_id: str, code: str, *, challenge_id: str | None = None) -> VerificationResult:
        """Check a TOTP code (RFC 6238 §5.2): window ±``totp_window`` steps, no time step twice."""
        attempt = self._begin(AuditKind.TOTP, user_id, challenge_id)
        token = self._token(attempt, OtpKind.TOTP, (TOTP_CODE, TIME_STEP_UNUSED))
        step = None
        if token is not None:
            p = token.params
            key = otp.TotpKey(token.secret, _int(p["digits"]), str(p["algorithm"]), _int(p.get("period") or 30))
            step = self._match_totp(attempt.rec, key, code, token.counter)
        attempt.rec.check(TRANSACTION_BINDING, CheckStatus.NOT_CHECKABLE, "a TOTP code is bound to a time, not to a "
                          "transaction: the same code authorises whatever transaction it is typed for")  # fmt: skip
        return self._finish_counter(attempt, OtpKind.TOTP, step, TIME_STEP_UNUSED)

    def _match_totp(self, rec: Recorder, key: otp.TotpKey, code: object, last: int | None) -> int | None:
        now = self._now()
        try:
            match = otp.totp_verify(key, _code(code), now, self.totp_window)
        except VerificationError as exc:
            rec.failed(TOTP_CODE, exc.detail)
            rec.skipped(TIME_STEP_UNUSED, "no matching code")
            return None
        rec.crypto("TOTP = HOTP(K, T), T = floor(time / X)",
                   (("time", iso(now)), ("window", f"±{self.totp_window} steps")),
                   (("matched time step T", str(match.time_step)), ("drift", f"{match.drift} steps")),
                   "RFC 6238 §4, §5.2")  # fmt: skip
        rec.passed(TOTP_CODE, f"matches time step {match.time_step} (drift {match.drift} steps)")
        if last is not None and match.time_step <= last:
            try:  # another step of the window may match too (a collision); the used one never again
                match = otp.totp_verify(key, _code(code), now, self.totp_window, last_used_step=last)
            except VerificationError:
                rec.failed(TIME_STEP_UNUSED, f"time step {match.time_step} was already accepted (last accepted "
                           f"{last}): a code is good once (RFC 6238 §5.2)")  # fmt: skip
                return None
        rec.passed(TIME_STEP_UNUSED, f"time step {match.time_step} is after the last accepted ({_text(last)})")
        return match.time_step

    def verify_hotp(self, user_id: str, code: str, *, challenge_id: str | None = None) -> VerificationResult:
        """Check an HOTP code (RFC 4226 §7.2, §7.4): counters from the next expected, look-ahead window."""
        attempt = self._begin(AuditKind.HOTP, user_id, challenge_id)
        token = self._token(attempt, OtpKind.HOTP, (HOTP_CODE, COUNTER_ADVANCED))
        next_counter = None
        if token is not None:
            key = otp.HotpKey(token.secret, _int(token.params["digits"]), str(token.params["algorithm"]))
            next_counter = self._match_hotp(attempt.rec, key, code, token.counter or 0)
        attempt.rec.check(TRANSACTION_BINDING, CheckStatus.NOT_CHECKABLE, "an HOTP code is bound to a counter, not to "
                          "a transaction: the same code authorises whatever transaction it is typed for")  # fmt: skip
        return self._finish_counter(attempt, OtpKind.HOTP, next_counter, COUNTER_ADVANCED)

    def _match_hotp(self, rec: Recorder, key: otp.HotpKey, code: object, counter: int) -> int | None:
        try:
            match = otp.hotp_verify(key, _code(code), counter, self.hotp_look_ahead)
        except VerificationError as exc:
            earlier = range(max(0, counter - self.hotp_look_ahead), counter)
            if isinstance(code, str) and any(otp.hotp(key, c) == code.strip() for c in earlier):
                rec.passed(HOTP_CODE, "the code matches an earlier counter")
                rec.failed(COUNTER_ADVANCED, f"the code was already used: the next counter expected is {counter} "
                           "(RFC 4226 §7.2)")  # fmt: skip
            else:
                rec.failed(HOTP_CODE, exc.detail)
                rec.skipped(COUNTER_ADVANCED, "no matching code")
            return None
        rec.crypto("HOTP = Truncate(HMAC(K, C))",
                   (("next counter expected", str(counter)), ("look-ahead", str(self.hotp_look_ahead))),
                   (("matched counter", str(match.counter)),), "RFC 4226 §5, §7.2")  # fmt: skip
        rec.passed(HOTP_CODE, f"matches counter {match.counter} ({match.skipped} ahead of the verifier)")
        rec.passed(COUNTER_ADVANCED, f"counter {match.counter} accepted; the next code must use {match.next_counter}")
        return match.next_counter

    # ------------------------------------------------------------------ CAP

    def enrol_cap(self, user_id: str, card: CapCard) -> CapEnrolment:
        """Register a CAP card for ``user_id``; the key store must hold its issuer keys."""
        enrol.check_user_id(user_id)
        entry = self.keystore.issuer_keys_for(card.aid, card.pan)
        if entry is None:
            raise UsageError(f"no issuer keys for AID {card.aid.hex().upper()} and PAN {mask_pan(card.pan)}: "
                             "CAP codes of this card cannot be verified")  # fmt: skip
        ref = enrol.card_ref(self.store.server_salt(), card.pan, card.psn)
        params = CapParams.of(card, ref, entry.cryptogram)
        token = OtpToken(user_id, OtpKind.CAP, params.to_json(), b"", None, self._now())
        audit = AuditRecord(self._now(), AuditKind.CAP, Outcome.ACCEPT, ("CAP card enrolled",), (), None, False,
                            user_id, None, ref, card.atc, params.masked_pan)  # fmt: skip
        self.store.save_otp_token(token, AtcRaise(ref, card.atc, create=True), audit)
        return CapEnrolment(user_id, ref, params.masked_pan, entry.cryptogram)

    def verify_cap(
        self, user_id: str, code: str, *, pan: str, mode: CapMode, challenge_id: str | None = None,
        transaction_date: bytes = cap.DATE_PINSENTRY,
    ) -> VerificationResult:  # fmt: skip
        """Check a CAP code typed with the card number. Respond and Sign need the challenge they answer."""
        if mode in (CapMode.RESPOND, CapMode.SIGN) and challenge_id is None:
            raise UsageError(f"CAP {mode.value} answers a challenge: give its challenge_id")
        if mode is CapMode.SIGN_TDS:
            raise UsageError("CAP sign-tds has no public vector and is not verified")
        attempt = self._begin(AuditKind.CAP, user_id, challenge_id, f"CAP {mode.value}")
        rec = attempt.rec
        token = self._token(attempt, OtpKind.CAP, (CAP_CARD, CAP_CODE, ATC_INCREASING))
        matched: tuple[bytes, int] | None = None
        if token is not None:
            params = CapParams.from_json(token.params)
            attempt.masked_pan = params.masked_pan
            ref = bytes.fromhex(params.card_ref)
            try:
                ok = enrol.card_ref(self.store.server_salt(), str(pan).strip(), params.psn) == ref
            except UsageError:
                ok = False
            if not ok:
                rec.failed(CAP_CARD, f"the card number given is not the enrolled CAP card ({params.masked_pan})")
                rec.skipped(CAP_CODE, "wrong card")
                rec.skipped(ATC_INCREASING, "wrong card")
            elif challenge_id is not None and attempt.challenge is None:
                rec.passed(CAP_CARD, f"card {params.masked_pan}")
                rec.skipped(CAP_CODE, "no challenge to recompute the code for")
                rec.skipped(ATC_INCREASING, "no challenge")
            else:
                rec.passed(CAP_CARD, f"card {params.masked_pan} (card_ref {ref.hex()[:12]}…)")
                request = cap_request(mode, attempt.challenge)
                matched = self._match_cap(rec, params, str(pan).strip(), ref, request, code, transaction_date)
        rec.check(TRANSACTION_BINDING, *CAP_BINDING[mode])
        raise_atc = AtcRaise(*matched) if matched and decide(rec.checks, INFORMATIVE)[0] is Outcome.ACCEPT else None
        if not self.store.finish(self._audit(attempt, raise_atc), raise_atc):
            rec.replace(ATC_INCREASING, CheckStatus.FAILED, "another verification accepted a code of this ATC first")
            self.store.finish(self._audit(attempt, None))
        return self._result(attempt, matched[1] if matched else None)

    def _match_cap(self, rec: Recorder, params: CapParams, pan: str, ref: bytes, request: CapRequest,
                   code: object, transaction_date: bytes) -> tuple[bytes, int] | None:  # fmt: skip
        entry = self.keystore.issuer_keys_for(bytes.fromhex(params.aid), pan)
        text = code.strip() if isinstance(code, str) else ""
        if entry is None:
            rec.check(CAP_CODE, CheckStatus.NOT_CHECKABLE, "the verifier holds no issuer keys for this card")
            rec.skipped(ATC_INCREASING, "no code recomputed")
            return None
        if not (text.isascii() and text.isdigit() and 1 <= len(text) <= 10):
            rec.failed(CAP_CODE, "a CAP code is 1..10 decimal digits")
            rec.skipped(ATC_INCREASING, "no code recomputed")
            return None
        state = self.store.card_state(ref)
        last = state.last_atc if state is not None else 0
        end = min(last + self.cap_window, MAX_ATC)
        try:
            codes = CapCodes(params, entry, pan, request, transaction_date)
            found = codes.find(int(text), range(last + 1, end + 1))
            old = codes.find(int(text), range(last, max(-1, last - self.cap_window), -1)) if found is None else None
        except ProtocolError as exc:
            rec.failed(CAP_CODE, f"the CAP code cannot be recomputed: {exc}")
            rec.skipped(ATC_INCREASING, "no code recomputed")
            return None
        atc = found if found is not None else old
        if atc is None:
            rec.failed(CAP_CODE, f"matches none of the codes the card computes at ATC {last + 1:04X}..{end:04X} "
                       f"for this {request.mode.value} request")  # fmt: skip
            rec.skipped(ATC_INCREASING, "no matching code")
            return None
        result = codes.at(atc)
        rec.crypto(f"CAP {request.mode.value}: ARQC recomputed ({codes.cvn.profile.label}), IPB bits selected",
                   (("ICC master key AC", f"KCV {codes.icc_master_key_kcv}"), ("ATC", f"{atc:04X}"),
                    ("challenge (9F37)", request.challenge or "none"),
                    ("amount (9F02)", str(request.amount_minor or 0)), ("IPB (9F56)", params.ipb)),
                   (("selected bits", result.selected_bits), ("code", result.text)), REFERENCE["cap"])  # fmt: skip
        rec.passed(CAP_CODE, f"equals the code the card computes at ATC {atc:04X}")
        if found is None:
            rec.failed(ATC_INCREASING, f"ATC {atc:04X} is not above the last accepted ({last:04X}): the code was "
                       "already used")  # fmt: skip
            return None
        rec.passed(ATC_INCREASING, f"ATC {atc:04X} is above the last accepted ({last:04X})")
        return ref, atc

    # ------------------------------------------------------------------ shared

    def _begin(self, kind: AuditKind, user_id: str, challenge_id: str | None, what: str = "") -> _Attempt:
        attempt = _Attempt(kind, user_id, challenge_id)
        what = what or kind.value.upper()
        attempt.rec.start(f"The verifier checks the {what} code typed by {user_id!r}.", REFERENCE[kind.value])
        if challenge_id is None:
            return attempt
        now = self._now()
        consumption = self.store.consume_challenge(challenge_id, ChallengePurpose.TRANSACTION, now)
        stored = consumption.stored
        attempt.challenge = stored.challenge if stored else None
        attempt.consumed = consumption.consumed
        report_challenge(attempt.rec, challenge_id, ChallengePurpose.TRANSACTION.value, attempt.challenge,
                         stored.used_at if stored else None, consumption.consumed, now)  # fmt: skip
        return attempt

    def _token(self, attempt: _Attempt, kind: OtpKind, dependants: tuple[str, ...]) -> OtpToken | None:
        rec, user_id = attempt.rec, attempt.user_id
        token = self.store.otp_token(user_id, kind)
        if token is None:
            rec.failed(OTP_ENROLLED, f"user {user_id!r} has no {kind.value.upper()} credential")
            for name in dependants:
                rec.skipped(name, "nothing enrolled")
            return None
        rec.passed(OTP_ENROLLED, f"{kind.value.upper()} credential of {user_id!r} since {iso(token.created_at)}")
        return token

    def _finish_counter(self, attempt: _Attempt, kind: OtpKind, value: int | None, check: str) -> VerificationResult:
        """Advance the time step / counter to ``value`` atomically with the audit record (ACCEPT only)."""
        if decide(attempt.rec.checks, INFORMATIVE)[0] is Outcome.ACCEPT and value is not None:
            if not self.store.advance_otp(attempt.user_id, kind, value, self._audit(attempt, None)):
                attempt.rec.replace(check, CheckStatus.FAILED, "another verification accepted this code first")
                self.store.finish(self._audit(attempt, None))
        else:
            self.store.finish(self._audit(attempt, None))
        return self._result(attempt, None)

    def _audit(self, attempt: _Attempt, atc: AtcRaise | None) -> AuditRecord:
        rec = attempt.rec
        outcome, reasons = decide(rec.checks, INFORMATIVE)
        return AuditRecord(
            self._now(), attempt.kind, outcome, reasons, tuple((c.check, c.status.value) for c in rec.checks),
            attempt.challenge_id, attempt.consumed, attempt.user_id, None, atc.card_ref if atc else None,
            atc.atc if atc else None, attempt.masked_pan,
        )  # fmt: skip

    def _result(self, attempt: _Attempt, atc: int | None) -> VerificationResult:
        rec = attempt.rec
        verdict = rec.verdict(INFORMATIVE)
        rec.events.append(verdict)
        rec.events.append(MessageSent(Step.VERDICT, Lane.VERIFIER, Lane.PHONE, f"Verdict: {verdict.outcome.value}"))
        return VerificationResult(attempt.kind.value, verdict, tuple(rec.events), attempt.challenge_id,
                                  attempt.user_id, masked_pan=attempt.masked_pan, atc=atc)  # fmt: skip


CAP_BINDING: dict[CapMode, tuple[CheckStatus, str]] = {
    CapMode.IDENTIFY: (CheckStatus.NOT_CHECKABLE, "an Identify code covers no challenge and no amount"),
    CapMode.RESPOND: (CheckStatus.NOT_CHECKABLE, "the code covers the challenge digits the user types from the "
                      "screen, not what the user confirmed: a phishing page can show another transaction's"),
    CapMode.SIGN: (CheckStatus.PASSED, "the code covers the challenge digits and the amount of T that the user "
                   "typed into the reader"),
}  # fmt: skip
"""The informative ``transaction binding`` of each CAP mode."""


def _code(code: object) -> str:
    if not isinstance(code, str):
        raise VerificationError("code", "a code is typed as text")
    return code


def _int(value: object) -> int:
    if not isinstance(value, int | str):
        raise UsageError(f"stored OTP parameter {value!r} is not a number")
    return int(value)


def _text(value: int | None) -> str:
    return "none yet" if value is None else str(value)
