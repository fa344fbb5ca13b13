"""Rasa speaks only to Sadar (issue 25, point 5), against the running stack: a message
posted to Rasa without the gateway's channel token is refused (and Rasa's open `rest`
channel is gone); metadata the gateway did not sign, such as a forged Telegram-shared phone
number, proves nothing; and no secret is on any process's command line (what `ps` shows)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from bot.conversation import RASA_WEBHOOK_PATH
from bot.domain.addresses import SHARED_CONTACT_METADATA
from bot.infra.signed_metadata import sign, signing_key
from tests.conftest import TEST_PII_KEY
from tests.support.fake_twilio import AUTH_TOKEN
from tests.support.stack import (
    ACTION_SERVER_TOKEN,
    RASA_API_TOKEN,
    RASA_CHANNEL_TOKEN,
    TELEGRAM_SECRET,
    TELEGRAM_TOKEN,
    Stack,
    TelegramUser,
    participant_by_nik,
)


def rasa_webhook(stack: Stack) -> str:
    return stack.settings.rasa_url + RASA_WEBHOOK_PATH


def test_a_message_without_the_channel_token_is_refused(stack: Stack) -> None:
    sender = f"wa:+62811{uuid.uuid4().int % 10**7:07d}"
    body = {"sender": sender, "message": "cek status"}
    url = rasa_webhook(stack)
    assert httpx.post(url, json=body).status_code == 401
    for forged in ("Bearer guess", f"Bearer {RASA_API_TOKEN}", f"Basic {RASA_CHANNEL_TOKEN}"):
        assert httpx.post(url, json=body, headers={"Authorization": forged}).status_code == 401
    # Rasa's own token-less REST channel is not open any more.
    rest = f"{stack.settings.rasa_url}/webhooks/rest/webhook"
    assert httpx.post(rest, json=body).status_code == 404
    # Nothing of it reached the conversation; the real caller still gets an answer.
    assert not [e for e in stack.tracker(sender)["events"] if e["event"] == "user"]
    real = httpx.post(
        url, json=body, headers={"Authorization": f"Bearer {RASA_CHANNEL_TOKEN}"}, timeout=60
    )
    assert real.status_code == 200 and real.json(), real.text


def unique_phone() -> str:
    return f"+62813{uuid.uuid4().int % 10**7:07d}"


def forged_metadata(kind: str, sender_id: str, phone: str) -> dict:
    """Metadata claiming that Telegram verified ``phone``, as a forger could send it."""
    key = signing_key(RASA_CHANNEL_TOKEN)
    if kind == "unsigned":
        return {SHARED_CONTACT_METADATA: phone}
    if kind == "guessed key":
        return sign(
            signing_key("not-the-channel-token"), sender_id, {SHARED_CONTACT_METADATA: phone}
        )
    if kind == "another sender's signature":
        return sign(key, "tg:1", {SHARED_CONTACT_METADATA: phone})
    assert kind == "tampered"
    signed = sign(key, sender_id, {SHARED_CONTACT_METADATA: "+6281200000000"})
    signed["sadar"][SHARED_CONTACT_METADATA] = phone
    return signed


@pytest.mark.parametrize(
    "kind", ["unsigned", "guessed key", "another sender's signature", "tampered"]
)
def test_a_forged_shared_contact_proves_no_phone(stack: Stack, db, kind: str) -> None:
    """The phone answer goes straight to Rasa (with the channel token, as a process holding
    it could) carrying a shared contact the gateway never signed: the number stays typed."""
    nik = f"3571021709808{uuid.uuid4().int % 10**3:03d}"
    phone = unique_phone()
    user_id = 930_000 + uuid.uuid4().int % 10_000
    sender_id = f"tg:{user_id}"
    user = TelegramUser(stack, user_id, "Sari")
    consent = user.says("mau daftar")[-1]
    user.presses(consent, "Ya, setuju")
    user.says("Sari Wulandari")
    user.says(nik)
    user.says("17-09-1980")
    forged = httpx.post(
        rasa_webhook(stack),
        json={
            "sender": sender_id,
            "message": phone,
            "metadata": forged_metadata(kind, sender_id, phone),
        },
        headers={"Authorization": f"Bearer {RASA_CHANNEL_TOKEN}"},
        timeout=60,
    )
    assert forged.status_code == 200, forged.text
    user.says("Karanglo")
    user.says("petani")
    jht_question = user.says("1 juta")[-1]
    summary = user.presses(jht_question, "Tidak, JKK+JKM saja")[-1]
    after = user.presses(summary, "Ya, daftarkan")
    assert "Nomor pendaftaran Sadar Anda: SDR-" in after[0]["text"]
    participant = participant_by_nik(db, nik)
    assert participant is not None
    assert participant.phone_verified_by is None


def descendants(pids: set[int]) -> set[int]:
    """``pids`` and every process below them (from /proc/<pid>/stat)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, grew = set(pids), True
    while grew:
        below = {pid for pid, parent in parents.items() if parent in found} - found
        found |= below
        grew = bool(below)
    return found


def test_no_secret_is_on_any_command_line(stack: Stack) -> None:
    """`ps` (everyone on the machine) shows command lines: the tokens travel in the
    environment, which only the process's owner can read."""
    secrets = {
        "Rasa API token": RASA_API_TOKEN,
        "action server token": ACTION_SERVER_TOKEN,
        "Rasa channel token": RASA_CHANNEL_TOKEN,
        "Telegram bot token": TELEGRAM_TOKEN,
        "Telegram webhook secret": TELEGRAM_SECRET,
        "Twilio auth token": AUTH_TOKEN,
        "PII hash key": TEST_PII_KEY,
        "PII encryption keys": stack.settings.pii_encryption_keys.get_secret_value(),
        "admin password hash": stack.environ["SADAR_ADMIN_PASSWORD_HASH"],
    }
    pids = descendants({p.pid for p in stack.processes.values() if p.poll() is None})
    assert {"rasa", "actions", "gateway"} <= set(stack.processes)
    command_lines = {}
    for pid in pids:
        try:
            command_lines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
    rasa_line = command_lines[stack.processes["rasa"].pid].decode()
    assert "nlu.serve" in rasa_line and "--enable-api" in rasa_line
    for pid, line in command_lines.items():
        for name, value in secrets.items():
            assert value.encode() not in line, f"the {name} is on the command line of {pid}"
    # The Rasa server did get its token: its API opens with it (and only with it).
    status = f"{stack.settings.rasa_url}/status"
    assert httpx.get(status, params={"token": RASA_API_TOKEN}).status_code == 200
    assert httpx.get(status).status_code in (401, 403)
