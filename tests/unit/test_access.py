"""Scoped access to the operations console (issue 32, point 4): what an account may see,
compared as Sadar compares place names (bot/domain/access.py)."""

from __future__ import annotations

import pytest

from bot.domain.access import (
    ADMINISTRATOR,
    EVERYTHING,
    Scope,
    Viewer,
    audit_path,
    parse_village,
    place_name_key,
    place_spellings,
    regency_key,
    regency_spellings,
)

TUBAN = Scope(regency="Tuban")
TWO_VILLAGES = Scope(
    villages=frozenset({("Karanglo", "Kerek", "Tuban"), ("Sumberejo", "Kerek", "Tuban")})
)


def test_everything_allows_every_row_even_one_without_a_place() -> None:
    assert EVERYTHING.everything and Scope() == EVERYTHING
    assert EVERYTHING.allows("Karanglo", "Kerek", "Tuban")
    assert EVERYTHING.allows(None, None, None)
    assert EVERYTHING.describe() == "semua wilayah"
    assert ADMINISTRATOR.is_administrator and ADMINISTRATOR.scope.everything


def test_a_regency_allows_its_rows_however_the_name_is_written() -> None:
    assert not TUBAN.everything
    for written in ("Tuban", "tuban", "  TUBAN ", "Kabupaten Tuban", "Kab. Tuban", "kab tuban"):
        assert TUBAN.allows("Karanglo", "Kerek", written), written
    assert Scope(regency="Kabupaten  Tuban").allows("x", "y", "Tuban")
    assert not TUBAN.allows("Karanglo", "Kerek", "Lamongan")
    assert not TUBAN.allows("Karanglo", "Kerek", "Kota Tuban")
    assert not TUBAN.allows("Karanglo", "Kerek", None)  # no regency recorded: nobody's
    assert not TUBAN.allows("Karanglo", "Kerek", "  ")


def test_a_city_is_not_the_regency_of_the_same_name() -> None:
    city = Scope(regency="Kota Probolinggo")
    assert city.allows("Jati", "Mayangan", "kota probolinggo")
    assert city.allows("Jati", "Mayangan", "Kota Adm. Probolinggo")
    assert not city.allows("Jati", "Mayangan", "Probolinggo")
    assert not Scope(regency="Probolinggo").allows("Jati", "Mayangan", "Kota Probolinggo")


def test_villages_allow_only_those_villages_of_their_district_and_regency() -> None:
    assert TWO_VILLAGES.allows("Karanglo", "Kerek", "Tuban")
    assert TWO_VILLAGES.allows("desa  KARANGLO", "kerek", "Kabupaten Tuban")
    assert TWO_VILLAGES.allows("Sumberejo", "Kerek", "Tuban")
    # The same village name elsewhere is another village.
    assert not TWO_VILLAGES.allows("Sumberejo", "Montong", "Tuban")
    assert not TWO_VILLAGES.allows("Karanglo", "Kerek", "Lamongan")
    assert not TWO_VILLAGES.allows("Jenu", "Jenu", "Tuban")
    assert not TWO_VILLAGES.allows(None, "Kerek", "Tuban")
    assert not TWO_VILLAGES.allows("Karanglo", "Kerek", None)


def test_a_row_without_its_kecamatan_matches_by_village_and_regency() -> None:
    """As ticket routing does: a ticket for a village named in chat has no kecamatan."""
    assert TWO_VILLAGES.allows("Karanglo", None, "Tuban")
    assert not TWO_VILLAGES.allows("Karanglo", None, "Lamongan")


def test_descriptions_are_indonesian() -> None:
    assert TUBAN.describe() == "Kabupaten Tuban"
    assert Scope(regency="Kab. Tuban").describe() == "Kabupaten Tuban"
    assert Scope(regency="Kota Surabaya").describe() == "Kota Surabaya"
    assert TWO_VILLAGES.describe() == "2 desa"
    one = Scope(villages=frozenset({("Karanglo", "Kerek", "Tuban")}))
    assert one.describe() == "Desa Karanglo (Kerek, Tuban)"


def test_a_scope_is_a_regency_or_villages_not_both() -> None:
    with pytest.raises(ValueError):
        Scope(regency="Tuban", villages=frozenset({("Karanglo", "Kerek", "Tuban")}))
    with pytest.raises(ValueError):
        Scope(regency="  ")


def test_the_spellings_listed_for_sql_are_exactly_those_with_the_same_key() -> None:
    for spelling in place_spellings("karanglo"):
        assert place_name_key(spelling) == "karanglo", spelling
    for spelling in regency_spellings("tuban"):
        assert regency_key(spelling) == "tuban", spelling
    for spelling in regency_spellings("kota surabaya"):
        assert regency_key(spelling) == "kota surabaya", spelling
    assert "kota tuban" not in regency_spellings("tuban")


def test_a_village_is_written_desa_kecamatan_kabupaten() -> None:
    assert parse_village(" Karanglo / Kerek /  Tuban ") == ("Karanglo", "Kerek", "Tuban")
    for wrong in ("Karanglo", "Karanglo/Kerek", "Karanglo//Tuban", "a/b/c/d"):
        with pytest.raises(ValueError):
            parse_village(wrong)


def test_viewers_are_values() -> None:
    assert Viewer(3, "siti", TUBAN) == Viewer(3, "siti", Scope(regency="Tuban"))
    assert not Viewer(3, "siti", TUBAN).is_administrator


def test_the_audit_keeps_no_value_that_could_name_a_person() -> None:
    assert audit_path("/admin") == "/admin"
    assert (
        audit_path(
            "/admin/payments.csv?village=Karanglo&district=Kerek&regency=Tuban&month=2026-11"
        )
        == "/admin/payments.csv?village=Karanglo&district=Kerek&regency=Tuban&month=2026-11"
    )
    kept = audit_path("/admin/participants?nik=3523160101800001&q=Siti+Aminah&month=2026-11")
    assert "3523160101800001" not in kept and "Siti" not in kept
    assert kept == "/admin/participants?nik=…&q=…&month=2026-11"
    assert len(audit_path("/admin?" + "&".join(f"month={i}" for i in range(200)))) == 300


def test_a_regency_named_kota_something_is_matched_as_itself() -> None:
    scope = Scope(regency="Kotawaringin Barat")
    assert scope.allows("Pangkut", "Arut Utara", "Kabupaten Kotawaringin Barat")
    assert not scope.allows("Pangkut", "Arut Utara", "Kotawaringin Timur")
    assert "kotawaringin barat" in regency_spellings(scope.regency_key or "")
