"""Prometheus metrics of the gateway and the reminder workers (``/metrics``).

Counts and durations only: no sender, NIK or message text ever becomes a label. The
metrics are module-level (one set per process, as prometheus-client expects); the
database-backed gauges (reminder states, queue depth) are read when scraped."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TURN_SECONDS = Histogram(
    "sadar_turn_seconds",
    "Time Rasa (with the action server) took to answer one message, by channel.",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.5, 5.0, 10.0, 30.0),
)
TURNS_ENDED = Counter(
    "sadar_turns_ended",
    "Inbound messages whose turn is over: replies handed to the channel (or the busy reply)",
    ["channel"],
)
ADMISSION_WAIT_SECONDS = Histogram(
    "sadar_admission_wait_seconds",
    "Time a turn waited at the gateway for a place at Rasa (issue 31: admission control).",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
NOT_ADMITTED = Counter(
    "sadar_not_admitted",
    "Web chat turns answered 'sedang ramai' (503) because Rasa was at capacity.",
)
LATE_NOTICES = Counter(
    "sadar_late_notices",
    "WhatsApp/Telegram residents told 'mohon tunggu' while their message waited for Rasa.",
)
RASA_ERRORS = Counter(
    "sadar_rasa_errors_total",
    "Turns the Rasa server could not answer (unreachable, timeout, HTTP error).",
    ["reason"],
)
ACTION_CALLS = Counter(
    "sadar_action_calls_total",
    "Calls Rasa made to the action server, by action (round trips per message).",
    ["action"],
)
ACTION_DOMAINS_RECEIVED = Counter(
    "sadar_action_callss_received",
    "Action calls that carried Rasa's whole domain: the first after the action server or a"
    " new model starts (the others carry only its digest, nlu/action_calls.py).",
)
ACTION_ERRORS = Counter(
    "sadar_action_errors_total",
    "Custom actions that raised in the action server, by action.",
    ["action"],
)
MESSAGES_OUT = Counter(
    "sadar_messages_out_total",
    "Messages handed to a platform (or given up on), by channel, purpose and outcome.",
    ["channel", "purpose", "status"],
)
RESIDENT_NOTICES = Counter(
    "sadar_resident_notices_total",
    "Notices to residents of what an agent did for them, by result (sent, unreachable, ...).",
    ["result"],
)


class ScrapedGauges(Collector):
    """Gauges computed at scrape time from ``read`` (name -> help, label, {value: n})."""

    def __init__(self, read: Callable[[], dict[str, tuple[str, str, dict[str, float]]]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            readings = self._read()
        except Exception:  # a scrape must not fail because the database is away
            log.exception("metrics: could not read the gauges")
            return
        for name, (documentation, label, values) in readings.items():
            family = GaugeMetricFamily(name, documentation, labels=[label] if label else [])
            for value, count in values.items():
                family.add_metric([value] if label else [], count)
            yield family


def register_gauges(
    read: Callable[[], dict[str, tuple[str, str, dict[str, float]]]],
    registry: CollectorRegistry = REGISTRY,
) -> ScrapedGauges:
    collector = ScrapedGauges(read)
    registry.register(collector)
    return collector


def exposition(registry: CollectorRegistry = REGISTRY) -> bytes:
    return generate_latest(registry)
