"""An agent's payment message (bot/understanding/payment_messages.py): a large payment goes
ahead only on an explicit confirmation, never on a negated one."""

from __future__ import annotations

import pytest

from bot.understanding.payment_messages import read_payment_request


@pytest.mark.parametrize(
    "text",
    ["bayar SDR-7K3M-9QXA 12 bulan KONFIRMASI", "bayar SDR-7K3M-9QXA 12 bln, yakin", "konfirm"],
)
def test_an_explicit_confirmation_confirms(text: str) -> None:
    assert read_payment_request(text).confirmed


@pytest.mark.parametrize(
    "text",
    [
        "bayar SDR-7K3M-9QXA 12 bulan, tidak yakin",
        "bayar SDR-7K3M-9QXA 12 bulan tapi belum konfirmasi",
        "jangan dikonfirmasi dulu",
        "saya ga terlalu yakin",
        "bayar SDR-7K3M-9QXA 12 bulan",
    ],
)
def test_a_negated_or_missing_confirmation_does_not(text: str) -> None:
    assert not read_payment_request(text).confirmed


def test_references_and_months_are_read() -> None:
    request = read_payment_request("bayar sdr-7k3m-9qxa SDR-AB12-CD34 3 bulan")
    assert request.references == ["SDR-7K3M-9QXA", "SDR-AB12-CD34"]
    assert request.months == 3
