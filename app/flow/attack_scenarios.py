"""The attacks of DESIGN.md §3, each run honestly first and then attacked, on the OTP side and on the tap.

Every function takes a fresh :class:`~app.flow.attack_support.Lab` and returns
``(otp, tap)``: two :class:`~app.flow.attack_results.SideResult` (``otp`` is
``None`` where the attack has no OTP counterpart). Verdicts and reasons are the
verifier's own; nothing here decides an outcome. The OTP side uses the same
verifier (:mod:`protocol.tap.otp_verifier`) with a TOTP app, an SMS code (HOTP
sent to the phone number) or a CAP reader (:mod:`app.flow.attack_otp`).
"""

from __future__ import annotations

import dataclasses
from contextlib import closing

from app.flow.attack_otp import authenticator_code, next_hotp_code, read_cap
from app.flow.attack_results import Attempt, Reason, SideResult, Verdict, from_verification
from app.flow.attack_support import ATTACKER_T, VICTIM_T, Lab, relay_wrapper
from app.flow.runner import RunOutcome
from app.flow.service import TapOptions
from app.flow.sources import emulated_transport, prepare_emulated
from card_emulation.profile import load_profile
from protocol.cap import CapMode, CapRequest
from protocol.tap.assertion import Assertion
from protocol.tap.challenge import Challenge
from protocol.tap.events import Event
from protocol.tap.transaction import Transaction
from protocol.tap.verifier_cap import cap_challenge_digits, cap_request

Sides = tuple[SideResult | None, SideResult]

SDA_PROFILE = "legacy-sda"
DDA_PROFILE = "visa-cvn18-dda"
RELAY_PROFILE = "mastercard-cvn16-cda"  # offers EMV relay resistance (AIP byte 2 bit 1)
CAP_PROFILE = "cap-visa-dpa"
ATTACKER_CARD = "visa-cvn18-dda"  # the attacker's own, genuine card
CHANGED_T = dataclasses.replace(VICTIM_T, amount_minor=5_000_000)
HONEST = "the victim pays 50,000 KRW to Coffee Shop Seoul"


# --------------------------------------------------------------------------- shared steps


def _honest_tap(lab: Lab, profile: str | None = None) -> tuple[Attempt, Assertion | None]:
    attempt, outcome = lab.tap(HONEST + " with a tap", source=lab.source(profile))
    return attempt, outcome.assertion


def _verify_run(lab: Lab, label: str, run: RunOutcome, before: tuple[Event, ...] = (), *,
                policy: str | None = None) -> Attempt:  # fmt: skip
    """The verdict on a phone run (FAILED with the session's reason when it made no assertion)."""
    if run.assertion is None:
        reason = run.failure.reason if run.failure else "the phone made no assertion"
        return Attempt(label, Verdict.FAILED, (Reason("card session", "failed", reason),), (), before + run.events)
    return lab.verify(label, run.assertion, policy=policy, before=before + run.events)


def _otp_attempt(lab: Lab, label: str, result, before: tuple[Event, ...]) -> Attempt:  # type: ignore[no-untyped-def]
    for event in result.events:
        lab.emit(event)
    return from_verification(label, result, events=before + result.events)


def _totp(lab: Lab, label: str, transaction: Transaction) -> Attempt:
    """The bank asks for a TOTP for ``transaction``; the user types what their app shows now."""
    challenge, before = lab.issue(transaction)
    code = authenticator_code(lab.service.store, lab.user, lab.clock.t)
    return _otp_attempt(lab, label, lab.service.verifier.verify_totp(lab.user, code, challenge_id=challenge.challenge_id),
                        before)  # fmt: skip


def _resigned(captured: Assertion, challenge: Challenge, key) -> Assertion:  # type: ignore[no-untyped-def]
    """``captured`` presented for ``challenge``, signed again with ``key`` (its device id unchanged)."""
    return dataclasses.replace(captured, challenge_id=challenge.challenge_id, signature=b"").signed_by(key)


def _captured(lab: Lab) -> tuple[Attempt, Assertion]:
    honest, assertion = _honest_tap(lab)
    if assertion is None:
        raise RuntimeError(f"the honest tap made no assertion: {honest.reasons}")
    return honest, assertion


# --------------------------------------------------------------------------- the attacks


def phishing_relay(lab: Lab) -> Sides:
    """The phisher relays the victim's credential, in real time, to authorise its own transfer."""
    lab.service.verifier.enrol_totp(lab.user)
    otp_honest = _totp(lab, HONEST + ", typing the app's code", VICTIM_T)
    lab.clock.advance(30)  # a later visit, the next time step: now to the phishing page
    otp_attack = _totp(lab, "the victim types the code into the phishing page; the phisher relays it to the bank "
                       "for its own 9,000,000 KRW transfer", ATTACKER_T)  # fmt: skip
    honest, _ = _honest_tap(lab)
    challenge, before = lab.issue(ATTACKER_T)
    shown = dataclasses.replace(challenge, transaction=VICTIM_T)  # rewritten on its way through the phishing page
    run = lab.phone_run(shown)
    attack = _verify_run(lab, "the phisher forwards the bank's challenge for its transfer to the victim's phone, "
                         "showing the victim's own transaction; the victim taps", run, before)  # fmt: skip
    return SideResult.of(otp_honest, otp_attack), SideResult.of(honest, attack)


def replay(lab: Lab) -> Sides:
    """A captured assertion is sent again — as it is, and re-signed on a fresh challenge."""
    honest, captured = _captured(lab)
    attack = lab.verify("the captured assertion is sent to the verifier again", captured)
    fresh, before = lab.issue(VICTIM_T)
    resigned = lab.verify("malware holding the phone's device key re-signs the captured card answers for a fresh "
                          "challenge", _resigned(captured, fresh, lab.service.device_key), before=before)  # fmt: skip
    return None, SideResult.of(honest, attack, (resigned,))


def _clone_tap(lab: Lab, profile: str, label: str) -> Attempt:
    clone = lab.source(profile, faults=f"clone-keyless={lab.image_path(profile)}")
    challenge, before = lab.issue(VICTIM_T)
    return _verify_run(lab, label, lab.phone_run(challenge, source=clone), before)


def cloned_card(lab: Lab) -> Sides:
    """A copy of everything the card lets anyone read, without its secret keys (an SDA-era clone)."""
    honest, _ = _honest_tap(lab, SDA_PROFILE)
    attack = _clone_tap(lab, SDA_PROFILE, "a keyless copy of the victim's SDA card is tapped on the victim's phone")
    lab.enrol_card(DDA_PROFILE)
    variant = _clone_tap(lab, DDA_PROFILE, "a keyless copy of the victim's DDA card is tapped on the victim's phone")
    note = "SDA only proves the issuer once signed the card's data, which a copy carries too; the ARQC needs the key"
    return None, SideResult.of(honest, attack, (variant,), note)


def _cap_variants(lab: Lab) -> tuple[Attempt, ...]:
    """CAP Respond and Sign for the changed transaction, typed from what the user saw."""
    source = lab.source(CAP_PROFILE)
    prepare_emulated(source, lab.data_dir)
    lab.service.reload_keys()
    pin = load_profile(CAP_PROFILE).applications[0].pin or ""

    def reading(request: CapRequest):  # type: ignore[no-untyped-def]
        with closing(emulated_transport(source, lab.data_dir)) as transport:
            return read_cap(transport, request, pin)

    card = reading(CapRequest(CapMode.IDENTIFY)).card()
    lab.service.verifier.enrol_cap(lab.user, card)
    out = []
    respond, before = lab.issue(CHANGED_T)
    code = reading(cap_request(CapMode.RESPOND, respond)).code
    out.append(_otp_attempt(lab, "CAP Respond: the user types the challenge digits from the screen into the reader",
                            lab.service.verifier.verify_cap(lab.user, code, pan=card.pan, mode=CapMode.RESPOND,
                                                            challenge_id=respond.challenge_id), before))  # fmt: skip
    sign, before = lab.issue(CHANGED_T)
    typed = CapRequest(CapMode.SIGN, cap_challenge_digits(sign), VICTIM_T.amount_minor)  # the amount they confirmed
    code = reading(typed).code
    out.append(_otp_attempt(lab, "CAP Sign: the user types the challenge and the 50,000 KRW they confirmed into "
                            "their own reader", lab.service.verifier.verify_cap(
                                lab.user, code, pan=card.pan, mode=CapMode.SIGN, challenge_id=sign.challenge_id),
                            before))  # fmt: skip
    return tuple(out)


def malware_amount(lab: Lab) -> Sides:
    """Malware changes the amount after the user confirmed 50,000 KRW: 5,000,000 goes through instead."""
    lab.service.verifier.enrol_totp(lab.user)
    otp_honest = _totp(lab, HONEST + ", typing the app's code", VICTIM_T)
    lab.clock.advance(30)
    otp_attack = _totp(lab, "malware in the browser sends the bank 5,000,000 KRW; the user types the TOTP for the "
                       "50,000 KRW screen they saw", CHANGED_T)  # fmt: skip
    note = ("TOTP carries no transaction data: accepted. CAP Respond covers only the challenge digits: accepted. "
            "CAP Sign covers the amount the user typed into their own reader: rejected — unless the malware's "
            "screen tells them to type 5,000,000 and they do")  # fmt: skip
    otp = SideResult.of(otp_honest, otp_attack, _cap_variants(lab), note)
    honest, _ = _honest_tap(lab)
    attack, _ = lab.tap("malware on the phone makes the card sign 5,000,000 KRW after the user confirmed 50,000",
                        options=TapOptions(card_transaction=CHANGED_T))  # fmt: skip
    return otp, SideResult.of(honest, attack)


def expired_challenge(lab: Lab) -> Sides:
    """The assertion is held back (a slow relay, a stored answer) and arrives after the challenge expired."""
    honest, _ = _honest_tap(lab)
    challenge, before = lab.issue(VICTIM_T)
    run = lab.phone_run(challenge)
    lab.clock.advance(61)  # the challenge lives 60 s
    attack = _verify_run(lab, "the assertion reaches the verifier 61 s after the challenge was issued", run, before)
    return None, SideResult.of(honest, attack)


def other_device(lab: Lab) -> Sides:
    """The attacker's phone presents the victim's card answers: the verifier checks the enrolled device's key."""
    honest, captured = _captured(lab)
    fresh, before = lab.issue(ATTACKER_T)
    attack = lab.verify("the attacker's phone replays the captured assertion for a fresh challenge, naming the "
                        "victim's device, signed with its own key", _resigned(captured, fresh, lab.attacker_key),
                        before=before)  # fmt: skip
    live, before = lab.issue(ATTACKER_T)
    run = lab.phone_run(live, device_key=lab.attacker_key)
    variant = _verify_run(lab, "the victim's own card tapped live on the attacker's phone", run, before)
    return None, SideResult.of(honest, attack, (variant,))


def atc_rollback(lab: Lab) -> Sides:
    """A card whose application transaction counter was set back (restored from an older copy of its state)."""
    honest, _ = _honest_tap(lab)
    attack, _ = lab.tap("the card's counter (ATC) is set back by 2 before the tap",
                        source=lab.source(faults="atc-rollback=2"))  # fmt: skip
    return None, SideResult.of(honest, attack)


def aip_downgrade(lab: Lab) -> Sides:
    """The AIP is rewritten on its way to the phone to hide DDA and CDA, hoping for a weaker check."""
    honest, _ = _honest_tap(lab)
    attack, _ = lab.tap("the card's AIP reaches the phone with DDA and CDA cleared",
                        source=lab.source(faults="gpo:aip-clear=dda+cda"))  # fmt: skip
    return None, SideResult.of(honest, attack)


def sim_swap(lab: Lab) -> Sides:
    """The attacker takes over the victim's phone number; SMS codes now reach the attacker."""
    lab.service.verifier.enrol_hotp(lab.user)  # the bank's SMS code generator for this user

    def sms(label: str, transaction: Transaction) -> Attempt:
        challenge, before = lab.issue(transaction)
        code = next_hotp_code(lab.service.store, lab.user)  # sent by SMS to whoever holds the number
        result = lab.service.verifier.verify_hotp(lab.user, code, challenge_id=challenge.challenge_id)
        return _otp_attempt(lab, label, result, before)

    otp_honest = sms(HONEST + ", typing the SMS code", VICTIM_T)
    otp_attack = sms("after the SIM swap the SMS reaches the attacker, who types it for a 9,000,000 KRW transfer",
                     ATTACKER_T)  # fmt: skip
    honest, _ = _honest_tap(lab)
    challenge, before = lab.issue(ATTACKER_T)
    run = lab.phone_run(challenge, source=lab.source(ATTACKER_CARD), device_key=lab.attacker_key)
    attack = _verify_run(lab, "the attacker, holding only the phone number, taps their own card on their own phone",
                         run, before)  # fmt: skip
    after, _ = lab.tap("the victim's own tap after the SIM swap")
    note = "nothing of a tap travels by SMS: the victim's phone and card still work, the attacker has neither"
    return SideResult.of(otp_honest, otp_attack), SideResult.of(honest, attack, (after,), note)


def nfc_relay(lab: Lab) -> Sides:
    """NGate-style: the victim's own card, tapped live, relayed over the internet to where the phone session runs."""
    source = lab.source(RELAY_PROFILE)
    honest, _ = lab.tap(HONEST + " with a local tap (checked under the relay-bound policy)", source=source,
                        policy="relay-bound")  # fmt: skip
    relayed = TapOptions(transport_wrapper=relay_wrapper(lab.config.relay_latency_ms))
    ms = f"{lab.config.relay_latency_ms:g} ms"
    attack, _ = lab.tap(f"the card's answers are relayed (+{ms} per exchange); default policy", ATTACKER_T,
                        source=source, options=relayed)  # fmt: skip
    bounded, _ = lab.tap(f"the same relay (+{ms} per exchange); relay-bound policy", ATTACKER_T, source=source,
                         options=relayed, policy="relay-bound")  # fmt: skip
    note = ("every cryptogram is the card's own, so all checks pass: accepted unless the verifier enforces a "
            "relay-resistance time bound (policy relay-bound), which the relay's latency exceeds")  # fmt: skip
    return None, SideResult.of(honest, attack, (bounded,), note)
