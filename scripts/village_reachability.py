"""A generated village, before and after issue 19: how many participants no reminder can
reach, as `sadar reminders plan` counts them.

`make village-reachability` registers the residents of one village through the real
registration service, on the channels villagers use (their own WhatsApp, Telegram, and the
village office's web chat kiosk), and runs `sadar reminders plan`: this is where Sadar stood
before issue 19, when nothing linked a web chat registration to a phone. Then each web chat
resident is sent the WhatsApp code (through the real Outbox to the fake Twilio REST API, as
a template: the numbers never wrote to Sadar) and a share of them type it back; the plan
runs again. The figures are printed, nothing is written to the docs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402

from bot.app_context import AppContext  # noqa: E402
from bot.channels.factory import build_outbox  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.domain.addresses import LinkPurpose  # noqa: E402
from bot.domain.clock import FixedClock  # noqa: E402
from bot.domain.consent import ConsentDecision, ConsentPurpose  # noqa: E402
from bot.domain.nik import parse_nik  # noqa: E402
from bot.domain.registration import Registration  # noqa: E402
from bot.domain.senders import Channel, channel_of  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.services.addresses.linking import CodeText, LinkResult  # noqa: E402
from bot.services.consent import record_consent  # noqa: E402
from bot.services.participants import register_participant  # noqa: E402
from tests.support.fake_twilio import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    WHATSAPP_FROM,
    running_fake_twilio,
)

PII_KEY = "village-demo-pii-hash-key-000000000000000"
LINK_SID = "HX" + "ab" * 16
REGISTERED_AT = datetime(2026, 11, 5, 3, 0, tzinfo=UTC)  # 10:00 WIB, first month November
PLAN_DAY = date(2026, 11, 13)  # three days before November's due date
#: Channels of a Desa Sadar village's registrations: most on their own WhatsApp, some on
#: Telegram, the rest at the village office's web chat kiosk.
CHANNEL_SHARES = ((Channel.WHATSAPP, 0.45), (Channel.TELEGRAM, 0.25), (Channel.WEB, 0.30))


def register_village(context: AppContext, residents: int, rng: random.Random) -> list[str]:
    """Register the residents; the web chat senders, whose WhatsApp is not linked yet."""
    web = []
    for i in range(residents):
        channel = rng.choices(
            [c for c, _ in CHANNEL_SHARES], weights=[w for _, w in CHANNEL_SHARES]
        )[0]
        phone = f"+62812{7000000 + i:07d}"
        sender = {
            Channel.WHATSAPP: f"wa:{phone}",
            Channel.TELEGRAM: f"tg:{700000 + i}",
            Channel.WEB: f"web:kiosk-{i:04d}",
        }[channel]
        nik = f"352303{1 + i % 28:02d}0880{i:04d}"
        decision = ConsentDecision(
            channel=channel, purpose=ConsentPurpose.REGISTRATION, granted=True, wording="setuju"
        )
        consent = record_consent(
            context.unit_of_work(), context.hash_key, sender, decision, REGISTERED_AT
        )
        registration = Registration(
            full_name=f"Warga {i}",
            nik=parse_nik(nik, REGISTERED_AT.date()),
            birth_date=parse_nik(nik, REGISTERED_AT.date()).birth_date,
            phone=phone,
            village="Karanglo",
            district="Kerek",
            regency="Tuban",
            occupation="petani",
            declared_income=1_000_000,
            with_jht=False,
            channel=channel,
        )
        register_participant(
            context.unit_of_work(), context.cipher, context.hash_key, registration, sender,
            REGISTERED_AT, consent,
        )  # fmt: skip
        if channel_of(sender) is Channel.WEB:
            web.append(sender)
        else:
            context.channel_log.record_inbound(sender, REGISTERED_AT)
    return web


def planned_unreachable(environ: dict[str, str]) -> tuple[int, str]:
    """`sadar reminders plan`'s count of participants no reminder can reach, and its output."""
    result = subprocess.run(
        [str(Path(sys.executable).with_name("sadar")), "reminders", "plan", "--date",
         PLAN_DAY.isoformat(), "--show", "0"],
        env=environ, capture_output=True, text=True, check=True,
    )  # fmt: skip
    line = next(x for x in result.stdout.splitlines() if "no reminder can reach" in x)
    return int(line.rsplit(":", 1)[1]), result.stdout


async def link_web_residents(
    context: AppContext, web: list[str], typed_back: float, rng: random.Random, twilio
) -> tuple[int, int]:
    """Send each web chat resident the code; a share type it back. (sent, linked)."""
    outbox = build_outbox(context.settings, context.channel_log)
    message = CodeText(lambda code: f"Kode Sadar Anda: {code}", LINK_SID)
    sent = linked = 0
    try:
        for sender in web:
            asked = await context.address_book.request(
                outbox, sender, None, LinkPurpose.ADD, message, REGISTERED_AT
            )
            if asked.result.value != "sent":
                continue
            sent += 1
            if rng.random() >= typed_back:
                continue  # never typed the code back: still unreachable, still counted
            last = twilio.messages[-1]
            code = json.loads(last["ContentVariables"])["1"]
            outcome = context.address_book.confirm(sender, code, REGISTERED_AT)
            linked += outcome is not None and outcome.result is LinkResult.LINKED
    finally:
        await outbox.aclose()
    return sent, linked


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=400)
    parser.add_argument(
        "--typed-back", type=float, default=0.85, help="share of web residents typing the code"
    )
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory() as folder, running_fake_twilio() as twilio:
        url = f"sqlite:///{folder}/sadar.db"
        keys = Fernet.generate_key().decode()
        upgrade(url)
        environ = {
            **os.environ,
            "SADAR_DATA_DIR": folder,
            "SADAR_DATABASE_URL": url,
            "SADAR_PII_HASH_KEY": PII_KEY,
            "SADAR_PII_ENCRYPTION_KEYS": keys,
        }
        settings = Settings(
            _env_file=None,
            data_dir=folder,
            database_url=url,
            pii_hash_key=PII_KEY,
            pii_encryption_keys=keys,
            twilio_account_sid=ACCOUNT_SID,
            twilio_auth_token=AUTH_TOKEN,
            twilio_whatsapp_from=WHATSAPP_FROM,
            twilio_api_base_url=twilio.base_url,
            whatsapp_link_content_sid=LINK_SID,
        )
        context = AppContext.from_settings(settings, FixedClock(REGISTERED_AT))
        try:
            print(f"registering {args.residents} residents of Karanglo …", flush=True)
            web = register_village(context, args.residents, rng)
            before, _ = planned_unreachable(environ)
            print(f"  web chat registrations: {len(web)}")
            print(f"before (no WhatsApp linked): unreachable = {before}")
            sent, linked = asyncio.run(
                link_web_residents(context, web, args.typed_back, rng, twilio)
            )
            after, output = planned_unreachable(environ)
            print(f"codes sent to WhatsApp (templates): {sent}; typed back and linked: {linked}")
            print(f"after: unreachable = {after}")
            print("--- sadar reminders plan, after ---")
            print(output.rstrip())
        finally:
            context.engine.dispose()


if __name__ == "__main__":
    main()
