"""A place read from the national register, as slots and buttons (the reading itself is
bot/understanding/places.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

from actions.registration_slots import (
    VILLAGE_CHOICES_SLOT,
    VILLAGE_CODE_SLOT,
    VILLAGE_PENDING_SLOT,
)
from bot.domain.places import Place, PlaceRegister, regency_label
from bot.infra.region_register import place_register
from bot.services.agents import AgentRef
from bot.understanding.places import PlaceReading, register_code
from nlu.parsing.lookups import villages


def choice_message(places: Sequence[Place]) -> dict[str, Any]:
    """The village question when an answer matched several villages: one name in several
    kecamatan ("Sumurgung: Kec. Montong, Kec. Palang"), or several close names."""
    buttons = village_buttons(places)
    names = {place.name for place in places}
    if len(names) == 1:
        districts = ", ".join(f"Kec. {place.district}" for place in places)
        return {
            "response": "utter_choose_village",
            "name": places[0].name,
            "districts": districts,
            "buttons": buttons,
        }
    return {"response": "utter_choose_close_village", "buttons": buttons}


def assumed_village_message(reading: PlaceReading) -> dict[str, Any]:
    """The note beside a village taken as the nearest of several with its name."""
    assert reading.place is not None
    others = ", ".join(f"Kec. {place.district}" for place in reading.choices)
    return {
        "response": "utter_village_assumed",
        "name": reading.place.name,
        "district": reading.place.district,
        "others": others,
        "buttons": village_buttons(reading.choices),
    }


def village_slots(place: Place) -> dict[str, Any]:
    return {
        "village": place.name,
        "district": place.district,
        "regency": regency_label(place.regency),
        VILLAGE_CODE_SLOT: place.code,
        VILLAGE_CHOICES_SLOT: None,
        VILLAGE_PENDING_SLOT: None,
    }


def village_buttons(places: Iterable[Place]) -> list[dict[str, str]]:
    """One button per candidate; its payload names the village with its kecamatan and
    regency, so it is read back as exactly that place."""
    return [
        {"title": place.label, "payload": "/inform" + json.dumps({"village": place.label})}
        for place in places
    ]


@lru_cache(maxsize=1)
def deployed_village_codes() -> frozenset[str]:
    """The register's codes of the Desa Sadar villages this deployment serves (the seed of
    the operator's village table, nlu/lookups/villages.csv)."""
    register = place_register()
    codes = (register_code(register, v.name, v.district, v.regency) for v in villages())
    return frozenset(code for code in codes if code)


def agent_village_code(agent: AgentRef | None, register: PlaceRegister) -> str | None:
    """The register's code of an agent's own village (their walk-ins mostly live there)."""
    if agent is None:
        return None
    return register_code(register, agent.village, agent.district, agent.regency)
