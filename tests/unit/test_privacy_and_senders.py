import pytest

from bot.domain.consent import ConsentDecision, ConsentPurpose
from bot.domain.senders import Channel, InvalidSenderId, channel_of, make_sender_id
from bot.infra.privacy import keyed_hash, mask_digits, mask_sender


def test_keyed_hash_is_stable_and_depends_on_the_key() -> None:
    assert keyed_hash("k1", "wa:+628123") == keyed_hash("k1", "wa:+628123")
    assert keyed_hash("k1", "wa:+628123") != keyed_hash("k2", "wa:+628123")
    assert "628123" not in keyed_hash("k1", "wa:+628123")


def test_masking_keeps_only_the_ends() -> None:
    assert mask_digits("081234567890") == "0812******90"
    assert mask_digits("123") == "***"
    assert mask_sender("wa:+6281234567890") == "wa:+628********90"
    assert "1234567" not in mask_sender("tg:1234567890")


@pytest.mark.parametrize(
    ("sender_id", "channel"),
    [("web:abc", Channel.WEB), ("tg:42", Channel.TELEGRAM), ("wa:+62812", Channel.WHATSAPP)],
)
def test_channel_of_namespaced_ids(sender_id: str, channel: Channel) -> None:
    assert channel_of(sender_id) is channel


@pytest.mark.parametrize("sender_id", ["abc", "sms:123", "web:", ":x"])
def test_channel_of_rejects_ids_without_a_known_namespace(sender_id: str) -> None:
    with pytest.raises(InvalidSenderId):
        channel_of(sender_id)


def test_make_sender_id_rejects_empty_local_part() -> None:
    assert make_sender_id(Channel.TELEGRAM, " 42 ") == "tg:42"
    with pytest.raises(InvalidSenderId):
        make_sender_id(Channel.WEB, "  ")


def test_consent_decision_keeps_wording_and_its_digest() -> None:
    decision = ConsentDecision(Channel.WEB, ConsentPurpose.REGISTRATION, True, "Setuju?")
    assert len(decision.wording_sha256) == 64
    with pytest.raises(ValueError, match="wording"):
        ConsentDecision(Channel.WEB, ConsentPurpose.REGISTRATION, True, "  ")
