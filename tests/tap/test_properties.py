"""Whatever the card sends, the session never raises and always ends (hypothesis).

The card is the real emulated card; at a few commands chosen by hypothesis its
real answer is mutated (bit flip, truncation, other status word, appended bytes)
or replaced by arbitrary bytes; every other answer goes through unchanged, so the
faults land at every step of the tap. The session must always be
in one of three states — a next command, done, or waiting for a choice — and end
within a bounded number of commands; a failure is a typed SessionFailed with a
sentence, never an internal error.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from protocol.crypto.primitives import ec_public_bytes
from protocol.tap.assertion import Assertion
from protocol.tap.authenticator import INTERNAL_ERROR
from protocol.tap.events import SessionFailed
from tests.tap.support import DEVICE_KEY, PROFILES, RELAY_PROFILE, make_card, new_session

MAX_COMMANDS = 250

mutation = st.one_of(
    st.just(("real",)),
    st.just(("real",)),
    st.tuples(st.just("replace"), st.binary(max_size=300)),
    st.tuples(st.just("flip"), st.integers(0, 400), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("sw"), st.sampled_from([0x6A82, 0x6985, 0x6283, 0x6A81, 0x6D00, 0x6100, 0x6C05, 0x6300, 0x9000])),
    st.tuples(st.just("append"), st.binary(min_size=1, max_size=8)),
)


def mutate(answer: bytes, how: tuple) -> bytes:
    kind = how[0]
    if kind == "replace":
        return how[1]
    if kind == "flip":
        if not answer:
            return answer
        index = how[1] % len(answer)
        return answer[:index] + bytes([answer[index] ^ (1 << how[2])]) + answer[index + 1 :]
    if kind == "truncate":
        return answer[: how[1] % (len(answer) + 1)]
    if kind == "sw":
        return answer[:-2] + how[1].to_bytes(2, "big")
    if kind == "append":
        return answer[:-2] + how[1] + answer[-2:]
    return answer


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from((*PROFILES, RELAY_PROFILE)),
    mutations=st.dictionaries(st.integers(0, 24), mutation, max_size=4),
    choice=st.sampled_from(["priority", "ask"]),
    cda=st.booleans(),
)
def test_any_card_answer_never_escapes_and_always_ends(name: str, mutations: dict, choice: str, cda: bool) -> None:
    card = make_card(name)
    session = new_session(application_choice=choice, request_cda=cda)
    for index in range(MAX_COMMANDS):
        if session.done:
            break
        if session.pending_choice is not None:
            assert session.next_command() is None
            session.choose(session.pending_choice[-1].aid)
            continue
        command = session.next_command()
        assert command is not None
        answer = mutate(card.process(command), mutations.get(index, ("real",)))
        session.receive(answer, index)
    assert session.done, "the session did not end within the bound"
    event(f"ended in {session.step.name} with {'a failure' if session.failure else 'an assertion'}")
    events = session.drain_events()
    if session.failure is not None:
        assert session.assertion is None
        assert session.failure.error_type != INTERNAL_ERROR, session.failure.reason
        assert session.failure.reason and "Traceback" not in session.failure.reason
        assert events[-1] == session.failure
        assert sum(isinstance(e, SessionFailed) for e in events) == 1
    else:
        assertion = session.assertion
        assert assertion is not None
        assertion.verify_signature(ec_public_bytes(DEVICE_KEY))
        assert Assertion.from_bytes(assertion.to_bytes()) == assertion


@settings(max_examples=300, deadline=None)
@given(answers=st.lists(st.binary(max_size=40), max_size=MAX_COMMANDS))
def test_pure_noise_from_the_first_command(answers: list[bytes]) -> None:
    session = new_session(application_choice="ask")
    for answer in answers:
        if session.done or session.pending_choice is not None:
            break
        session.receive(answer)
    assert session.done or session.pending_choice is not None or session.next_command() is not None
    if session.failure is not None:
        assert session.failure.error_type != INTERNAL_ERROR, session.failure.reason
