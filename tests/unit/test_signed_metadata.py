"""The gateway's metadata is trusted only as signed (issue 25, point 5): a shared contact
sent to Rasa by anyone else, or altered, or moved to another sender, reads as nothing."""

from __future__ import annotations

import pytest

from bot.infra.signed_metadata import SIGNATURE_KEY, SIGNED_KEY, sign, signing_key, verified

KEY = signing_key("rasa-channel-token-for-unit-tests-0123456789")
CONTACT = {"shared_contact": "+6281234567890"}


def test_signed_metadata_verifies_for_its_sender_even_with_rasas_own_keys_added() -> None:
    signed = sign(KEY, "tg:42", CONTACT)
    # Rasa adds model_id and assistant_id next to what the channel passed on.
    as_stored = {**signed, "model_id": "abc", "assistant_id": "sadar"}
    assert verified(KEY, "tg:42", as_stored) == CONTACT


@pytest.mark.parametrize(
    "received",
    [
        None,
        {},
        CONTACT,  # unsigned, as a forger posting to Rasa would send it
        {SIGNED_KEY: CONTACT},  # the gateway's shape, no signature
        {SIGNED_KEY: CONTACT, SIGNATURE_KEY: "0" * 64},
        {SIGNED_KEY: CONTACT, SIGNATURE_KEY: 12},
        {SIGNED_KEY: "+6281234567890", SIGNATURE_KEY: "0" * 64},
        sign(signing_key("a-guessed-token"), "tg:42", CONTACT),
        sign(KEY, "tg:43", CONTACT),  # another sender's
        {**sign(KEY, "tg:42", CONTACT), SIGNED_KEY: {"shared_contact": "+6289999999999"}},
        {**sign(KEY, "tg:42", CONTACT), SIGNED_KEY: {**CONTACT, "extra": "x"}},
    ],
)
def test_anything_not_signed_by_the_gateway_for_this_sender_reads_as_nothing(
    received: object,
) -> None:
    assert verified(KEY, "tg:42", received) == {}  # type: ignore[arg-type]


def test_without_a_key_nothing_is_trusted() -> None:
    assert verified(None, "tg:42", sign(KEY, "tg:42", CONTACT)) == {}


def test_the_signing_key_is_not_the_channel_token_itself() -> None:
    token = "rasa-channel-token-for-unit-tests-0123456789"
    assert signing_key(token) != token and len(signing_key(token)) == 64
