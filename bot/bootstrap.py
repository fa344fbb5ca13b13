"""The composition root: the one place that assembles what a process needs to talk to
people, from its ``AppContext``: the Outbox, the handoff relay, the conversation router
with every interceptor, and the reminder dispatcher.

The gateway (bot/gateway/app.py), the Telegram poller (bot/processes/telegram_poller.py),
the reminder worker (bot/processes/worker.py) and the action server (actions/outbox.py) all
build them here, once per process (or, for clients tied to an event loop, once per loop), so that no
two of them can be wired differently. Nothing here runs at import time."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from bot.app_context import AppContext
from bot.channels.factory import build_outbox as outbox_from_settings
from bot.channels.outbound import Outbox
from bot.conversation import ConversationRouter, OfferedButtons, Photos, RasaClient
from bot.domain.payments import load_calendar
from bot.infra.admission import AdmissionGate
from bot.infra.privacy import keyed_hash
from bot.infra.region_register import place_register
from bot.infra.shared_state import SharedStore, make_shared_store
from bot.services.handoff_relay import HandoffRelay
from bot.services.ktp_photo.readings import PhotoReadings
from bot.services.registry.api_client import PartnerApiClient
from bot.services.registry.driver import hand_over_pending, poll_promised, withdraw_owed
from bot.services.registry.notices import AnswersTold, tell_answers
from bot.services.reminders import ReminderDispatcher

log = logging.getLogger(__name__)


def build_outbox(context: AppContext) -> Outbox:
    """The Outbox for every channel with credentials, recording deliveries in the channel
    log. Call it inside the event loop that will run it: its HTTP and Redis clients belong
    to that loop."""
    return outbox_from_settings(context.settings, context.channel_log)


def build_relay(context: AppContext, outbox: Outbox) -> HandoffRelay:
    """Conversations with a person (tickets), sending through ``outbox``."""
    return context.handoff_relay(outbox)


def offered_buttons(context: AppContext, store: SharedStore) -> OfferedButtons:
    """The one memory of the buttons each sender was offered, keyed by a keyed hash of the
    sender (no address in the shared store)."""
    return OfferedButtons(store, lambda sender_id: keyed_hash(context.hash_key, sender_id))


def build_rasa_client(context: AppContext, http: httpx.AsyncClient | None = None) -> RasaClient:
    """Sadar's channel on the Rasa servers; ``http`` (tests) replaces the real client."""
    settings = context.settings
    return RasaClient(
        settings.rasa_urls,
        settings.rasa_timeout_seconds,
        http=http,
        channel_token=settings.rasa_channel_token_value,
    )


def build_router(
    context: AppContext,
    rasa: RasaClient,
    store: SharedStore,
    relay: HandoffRelay,
    photos: Photos | None = None,
) -> ConversationRouter:
    """The one path to Rasa, with all its interceptors: the offered-buttons memory, the
    handoff relay and KTP photos."""
    settings = context.settings
    gate = AdmissionGate(settings.rasa_turns_in_flight * len(settings.rasa_urls))
    return ConversationRouter(rasa, offered_buttons(context, store), relay, photos, gate)


def build_photo_readings(context: AppContext, store: SharedStore) -> PhotoReadings | None:
    """KTP photos for a process that receives messages; None when they are switched off. A
    missing OCR model leaves photos answered with a request to type, and says what to
    install."""
    settings = context.settings
    if not settings.ktp_photos:
        return None
    # Loaded here only: OpenCV and libtesseract stay out of processes that read no photo.
    from bot.services.ktp_photo.reader import KtpPhotoReader, OcrUnavailable
    from bot.services.ktp_photo.second_reader import RapidOcrReader

    register = place_register()

    def area_name(code: str) -> str | None:
        area = register.area(code)
        return area.name if area else None

    try:
        reader: KtpPhotoReader | None = KtpPhotoReader(
            area_name,
            workers=settings.ktp_photo_readers,
            seconds_per_photo=settings.ktp_photo_seconds,
            second_reader=RapidOcrReader() if settings.ktp_second_reader else None,
        )
    except OcrUnavailable as error:
        log.error("KTP photos will not be read: %s", error)
        reader = None
    return PhotoReadings(
        reader,
        store,
        context.cipher,
        lambda sender_id: keyed_hash(context.hash_key, sender_id),
        context.clock.today,
    )


@dataclass(frozen=True)
class Conversations:
    """What a process that receives people's messages holds (the gateway, the Telegram
    poller), built together by ``conversations``."""

    store: SharedStore
    outbox: Outbox
    relay: HandoffRelay
    rasa: RasaClient
    router: ConversationRouter
    photos: PhotoReadings | None = None

    async def aclose(self) -> None:
        """In the order the gateway always closed them: sends first, then Rasa, then state."""
        await self.outbox.aclose()
        await self.rasa.aclose()
        if self.photos is not None:
            self.photos.close()
        await self.store.aclose()


def conversations(
    context: AppContext, *, rasa_http: httpx.AsyncClient | None = None
) -> Conversations:
    """The receiving side of a process: shared store, Outbox, relay and router. Call it
    inside the event loop that will run them."""
    store = make_shared_store(context.settings.redis_url)
    outbox = build_outbox(context)
    relay = build_relay(context, outbox)
    rasa = build_rasa_client(context, rasa_http)
    photos = build_photo_readings(context, store)
    router = build_router(context, rasa, store, relay, photos)
    return Conversations(store, outbox, relay, rasa, router, photos)


def build_dispatcher(context: AppContext, outbox: Outbox) -> ReminderDispatcher:
    """The reminder dispatcher of a worker process, sending through ``outbox``."""
    settings = context.settings
    return ReminderDispatcher(
        context.unit_of_work,
        context.cipher,
        context.channel_log,
        outbox,
        load_calendar(),
        settings.reminder_policy,
        template_sid=settings.whatsapp_reminder_content_sid,
        max_attempts=settings.reminder_max_attempts,
        clock=context.clock,
    )


def build_registry_client(context: AppContext) -> PartnerApiClient | None:
    """The partner API client when SADAR_REGISTRY=api (settings checked it is complete);
    None with the batch file, where an operator carries the registrations."""
    settings = context.settings
    if settings.registry != "api":
        return None
    assert settings.registry_url and settings.registry_consumer_id and settings.registry_secret
    return PartnerApiClient(
        settings.registry_url,
        settings.registry_consumer_id,
        settings.registry_secret.get_secret_value(),
        # Signatures carry the real time (the registry checks it against its own clock),
        # not the application clock a test or a rehearsal may have shifted.
        timeout_seconds=settings.registry_timeout_seconds,
    )


async def tell_answers_to_residents(context: AppContext, outbox: Outbox) -> AnswersTold:
    """Every answer not yet told, to its resident (after an import or an API pass)."""
    return await tell_answers(
        context.unit_of_work(),
        context.cipher,
        context.resident_notices,
        outbox,
        context.clock.now(),
    )


async def hand_over_and_tell(
    context: AppContext,
    client: PartnerApiClient,
    outbox: Outbox,
    progress: Callable[[int], None] | None = None,
) -> str:
    """One pass of the partner API: pending registrations submitted, promised answers asked
    for, owed withdrawals sent, then every answer told to its resident; a line for the
    log."""
    report = await hand_over_pending(
        context.unit_of_work, context.cipher, client, context.clock.now, progress=progress
    )
    polled = await poll_promised(context.unit_of_work, context.cipher, client, context.clock.now)
    report.outcomes.update(polled.outcomes)
    withdrawn = await withdraw_owed(context.unit_of_work, client, context.clock.now)
    told = await tell_answers_to_residents(context, outbox)
    outcomes = ", ".join(f"{name} {n}" for name, n in sorted(report.outcomes.items()))
    return (
        f"registry: {outcomes or 'nothing pending'}; withdrawals sent {withdrawn}; {told.summary()}"
    )
