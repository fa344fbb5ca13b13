"""The same path as tests/e2e/test_registry_batch.py, with the partner API adapter (issue 29):
a resident registers on WhatsApp; `sadar submissions send` (one pass of the worker's job)
submits to the stand-in registry on a real socket; the KPJ number reaches the resident's
WhatsApp once; a name refused by the registry is corrected in chat and sent again under the
same reference; one membership per registration at the stand-in."""

from __future__ import annotations

import subprocess
import sys
import uuid

from bot.infra.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack
from tests.support.registry_standin import (
    SADAR_CONSUMER_ID,
    SADAR_SECRET,
    Mode,
    RegistryStandIn,
)


def _send(stack: Stack, standin: RegistryStandIn) -> str:
    api = {
        "SADAR_REGISTRY": "api",
        "SADAR_REGISTRY_URL": standin.url,
        "SADAR_REGISTRY_CONSUMER_ID": SADAR_CONSUMER_ID,
        "SADAR_REGISTRY_SECRET": SADAR_SECRET,
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "submissions", "send"],
        env=stack.environ | api, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Chat:
    """One resident's WhatsApp chat, kept as a transcript (printed with pytest -s)."""

    def __init__(self, stack: Stack, number: str) -> None:
        self.stack, self.number = stack, number
        self.lines: list[str] = []

    def __call__(self, text: str) -> list[str]:
        replies = self.stack.whatsapp(self.number, text)
        self.lines += [f"warga: {text}", *(f"sadar: {reply}" for reply in replies)]
        return replies

    def pushed(self, since: int) -> list[str]:
        """Messages Sadar sent on its own (the KPJ number, a refusal) since ``since``."""
        bodies = self.stack.twilio.bodies(self.number)[since:]
        self.lines += [f"sadar (pesan baru): {body}" for body in bodies]
        return bodies

    def sent_so_far(self) -> int:
        return len(self.stack.twilio.bodies(self.number))


def _register(chat: Chat, name: str, nik: str) -> str:
    chat("daftar")
    chat("ya")
    chat(f"nama {name} NIK {nik} lahir 17-08-1980 petani 1 juta")
    chat("karanglo")
    chat("tidak")
    done = next(r for r in chat("ya") if "Nomor pendaftaran Sadar" in r)
    return done.split("Anda: ")[1].split(" ")[0]


def test_through_the_partner_api_to_the_kpj_number_and_a_correction(
    stack: Stack, standin: RegistryStandIn
) -> None:
    first = Chat(stack, f"+62812{uuid.uuid4().int % 10**8:08d}")
    second = Chat(stack, f"+62812{uuid.uuid4().int % 10**8:08d}")
    serial = uuid.uuid4().int % 4000 + 1000
    accepted = _register(first, "Sri Wahyuni", f"352316170880{serial:04d}")
    refused = _register(second, "Tukiyem Sadarwati", f"352316170880{serial + 4000:04d}")
    # Dukcapil has "Tukiyem Sadarwati Rahayu". The stack's database also holds the other
    # e2e modules' registrations, handed over by the same pass: a name none of them uses.
    standin.arm(Mode.MISMATCH, names={"Tukiyem Sadarwati"})

    before, refused_before = first.sent_so_far(), second.sent_so_far()
    said = _send(stack, standin)
    assert "KPJ messages sent" in said and "refusals told" in said
    (told,) = first.pushed(before)
    (refusal,) = second.pushed(refused_before)  # told without asking, once
    assert refused in refusal and "berbeda dengan data kependudukan" in refusal
    kpj = standin.memberships[accepted]
    assert f"Nomor KPJ Anda: {kpj}" in told
    assert f"diterima, nomor KPJ {kpj}" in first("cek status")[-1]
    assert refused not in standin.memberships

    status = second("cek status")[-1]
    assert "berbeda dengan data kependudukan" in status
    second("perbaiki data")
    fixed = second("namanya Tukiyem Sadarwati Rahayu")
    assert any("Nama diperbaiki: Tukiyem Sadarwati Rahayu" in r for r in fixed), fixed
    assert "dikirim lagi" in second("ya")[-1]

    before = second.sent_so_far()
    _send(stack, standin)
    (told,) = second.pushed(before)
    assert f"Nomor KPJ Anda: {standin.memberships[refused]}" in told
    _send(stack, standin)  # a pass with nothing left sends nothing twice
    assert second.sent_so_far() == before + 1
    assert "diterima, nomor KPJ" in second("cek status")[-1]
    # One membership each (the stack's other registrations were handed over too).
    assert {accepted, refused} <= set(standin.memberships) and standin.niks_held_twice == 0
    print("\n".join(["", "--- transcript: a name refused, corrected in chat ---", *second.lines]))
