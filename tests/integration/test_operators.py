"""Operator accounts of the operations console (issue 32, point 4), on SQLite and
PostgreSQL: created with the CLI behind a hidden password prompt, limited to a regency or
villages checked against the village table, logged in with the administrator's lockouts
and server-side sessions (a changed password or a deactivated account ends them), and
every view of personal data audited without the values that could name a person."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.app_context import AppContext
from bot.cli import admin
from bot.cli.main import app
from bot.db.models import Operator
from bot.domain.access import ADMINISTRATOR, Scope, Viewer
from bot.gateway.admin_auth import (
    MAX_FAILURES_PER_USERNAME,
    AdminSessions,
    LoginGuard,
    account_lookup,
    authenticate_operator,
)
from bot.infra.passwords import verify_password
from bot.infra.shared_state import MemoryStore
from bot.services.imports import import_villages
from bot.services.operators import (
    OperatorProblem,
    audit_log,
    authenticate,
    create_operator,
    deactivate_operator,
    list_operators,
    record_view,
    set_password,
)
from tests.support.clock import WIB
from tests.support.contexts import context_at

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=WIB)
#: What the clock hands the services: the same instant in UTC (as stored).
AT = NOW.astimezone(UTC)
PASSWORD = "kata-sandi-operator-tuban"
#: Tests hash with a low cost; the real cost (600,000) is bot/infra/passwords.py's default.
FAST = 1000
VILLAGES = """name,district,regency,province,households,officials
Karanglo,Kerek,Tuban,Jawa Timur,1524,12
Sumberejo,Kerek,Tuban,Jawa Timur,40,4
Sumberejo,Montong,Tuban,Jawa Timur,300,6
Sendangharjo,Brondong,Lamongan,Jawa Timur,900,9
"""


@pytest.fixture
def context(database_url: str, tmp_path: Path) -> Iterator[AppContext]:
    with context_at(database_url, NOW) as context:
        path = tmp_path / "villages.csv"
        path.write_text(VILLAGES, encoding="utf-8")
        import_villages(context.unit_of_work, path, context.clock)
        yield context


def _create(context: AppContext, username: str = "tuban.ops", **scope: object) -> int:
    arguments: dict[str, object] = scope or {"regency": "Tuban"}
    return create_operator(
        context.unit_of_work(),
        username,
        PASSWORD,
        now=context.clock.now(),
        iterations=FAST,
        **arguments,  # type: ignore[arg-type]  # regency= or villages=, as each test needs
    )


def test_an_operator_sees_a_regency_as_the_village_table_writes_it(context: AppContext) -> None:
    _create(context, "Tuban.Ops", regency="Kabupaten Tuban")
    (view,) = list_operators(context.unit_of_work())
    assert view.username == "tuban.ops" and view.active and view.last_login_at is None
    assert view.scope == Scope(regency="Tuban")
    assert view.scope.describe() == "Kabupaten Tuban"
    with context.sessions() as session:
        stored = session.scalar(select(Operator.password_hash))
    assert stored is not None and PASSWORD not in stored and verify_password(PASSWORD, stored)


def test_an_operator_sees_villages_given_as_desa_kecamatan_kabupaten(context: AppContext) -> None:
    _create(context, "kerek", villages=["karanglo/kerek/tuban", "Desa Sumberejo/Kerek/Kab. Tuban"])
    (view,) = list_operators(context.unit_of_work())
    assert view.scope.villages == {("Karanglo", "Kerek", "Tuban"), ("Sumberejo", "Kerek", "Tuban")}
    assert view.scope.describe() == "2 desa"
    assert not view.scope.allows("Sumberejo", "Montong", "Tuban")


@pytest.mark.parametrize(
    ("username", "password", "scope", "problem"),
    [
        ("ab", PASSWORD, {"regency": "Tuban"}, "3 to 32"),
        ("siti aminah", PASSWORD, {"regency": "Tuban"}, "3 to 32"),
        ("x" * 33, PASSWORD, {"regency": "Tuban"}, "3 to 32"),
        ("administrator", PASSWORD, {"regency": "Tuban"}, "administrator"),
        ("tuban.ops", "pendek", {"regency": "Tuban"}, "12"),
        ("tuban.ops", PASSWORD, {}, "regency or some villages"),
        ("tuban.ops", PASSWORD, {"regency": "Tuban", "villages": ["Karanglo/Kerek/Tuban"]},
         "not both"),
        ("tuban.ops", PASSWORD, {"regency": "Bojonegoro"}, "'Bojonegoro' is not in the village"),
        ("tuban.ops", PASSWORD, {"villages": ["Karanglo/Jenu/Tuban"]}, "'Karanglo/Jenu/Tuban'"),
        ("tuban.ops", PASSWORD, {"villages": ["Karanglo"]}, "Desa/Kecamatan/Kabupaten"),
    ],
)  # fmt: skip
def test_what_an_account_cannot_be(
    context: AppContext, username: str, password: str, scope: dict[str, object], problem: str
) -> None:
    with pytest.raises(OperatorProblem, match=problem):
        create_operator(
            context.unit_of_work(),
            username,
            password,
            now=AT,
            iterations=FAST,
            **scope,  # type: ignore[arg-type]  # each case's regency= and villages=
        )
    assert list_operators(context.unit_of_work()) == []


def test_a_username_is_taken_once(context: AppContext) -> None:
    _create(context, "tuban.ops")
    with pytest.raises(OperatorProblem, match="taken"):
        _create(context, "TUBAN.OPS", regency="Tuban")


def test_without_a_village_table_the_scope_is_kept_as_typed(database_url: str) -> None:
    with context_at(database_url, NOW) as context:
        _create(context, "ngawi", villages=["Beran/Ngawi/Ngawi"])
        (view,) = list_operators(context.unit_of_work())
        assert view.scope.villages == {("Beran", "Ngawi", "Ngawi")}


def test_only_the_right_password_of_an_active_account_logs_in(context: AppContext) -> None:
    operator_id = _create(context)
    later = AT + timedelta(hours=1)
    viewer = authenticate(context.unit_of_work(), " Tuban.Ops ", PASSWORD, later)
    assert viewer == Viewer(operator_id, "tuban.ops", Scope(regency="Tuban"))
    (view,) = list_operators(context.unit_of_work())
    assert view.last_login_at == later
    assert authenticate(context.unit_of_work(), "tuban.ops", PASSWORD + "x", later) is None
    assert authenticate(context.unit_of_work(), "nobody", PASSWORD, later) is None
    assert authenticate(context.unit_of_work(), "bad name!", PASSWORD, later) is None
    set_password(context.unit_of_work(), "tuban.ops", "kata-sandi-yang-baru-2026", iterations=FAST)
    assert authenticate(context.unit_of_work(), "tuban.ops", PASSWORD, later) is None
    assert authenticate(context.unit_of_work(), "tuban.ops", "kata-sandi-yang-baru-2026", later)
    assert deactivate_operator(context.unit_of_work(), "tuban.ops")
    assert not deactivate_operator(context.unit_of_work(), "tuban.ops")
    assert (
        authenticate(context.unit_of_work(), "tuban.ops", "kata-sandi-yang-baru-2026", later)
        is None
    )
    with pytest.raises(OperatorProblem, match="no operator"):
        set_password(context.unit_of_work(), "nobody", PASSWORD)


def test_an_unknown_username_costs_the_same_hashing_as_a_known_one(
    context: AppContext,
) -> None:
    """The real cost: a wrong password for a real account and any password for a made-up
    name both run PBKDF2 at 600,000 iterations (bounds loose enough for a busy machine)."""
    create_operator(context.unit_of_work(), "tuban.ops", PASSWORD, regency="Tuban", now=AT)

    def timed(username: str) -> float:
        start = time.perf_counter()
        assert authenticate(context.unit_of_work(), username, "salah-sekali-1234", AT) is None
        return time.perf_counter() - start

    timed("nobody")  # the dummy hash is made once, on first use
    known, unknown = timed("tuban.ops"), timed("nobody")
    assert 1 / 3 < known / unknown < 3


async def test_sessions_say_who_is_logged_in_and_end_with_a_new_password_or_deactivation(
    context: AppContext,
) -> None:
    operator_id = _create(context)
    store = MemoryStore()
    sessions = AdminSessions(
        store, "key", "pbkdf2_sha256$1000$salt$admin", account_lookup(context.unit_of_work)
    )
    viewer = await authenticate_operator(context.unit_of_work(), "tuban.ops", PASSWORD, AT)
    assert viewer is not None
    token = await sessions.open(viewer)
    administrator = await sessions.open()
    assert await sessions.viewer(token) == Viewer(operator_id, "tuban.ops", Scope(regency="Tuban"))
    assert await sessions.viewer(administrator) == ADMINISTRATOR
    # ``valid`` stays the administrator's test: an operator's page must use ``viewer``.
    assert await sessions.valid(administrator) and not await sessions.valid(token)
    assert await sessions.viewer("guessed") is None and await sessions.viewer(None) is None
    # Without a way to read accounts, an operator's session is nobody's.
    assert await AdminSessions(store, "key", "x").viewer(token) is None

    set_password(context.unit_of_work(), "tuban.ops", PASSWORD, iterations=FAST)  # same text
    assert await sessions.viewer(token) is None
    assert await sessions.viewer(administrator) == ADMINISTRATOR

    again = await sessions.open(viewer)
    assert await sessions.viewer(again) is not None
    deactivate_operator(context.unit_of_work(), "tuban.ops")
    assert await sessions.viewer(again) is None
    with pytest.raises(LookupError):
        await sessions.open(viewer)
    await sessions.close(administrator)
    assert await sessions.viewer(administrator) is None


async def test_a_username_is_locked_out_after_failures_from_many_addresses() -> None:
    guard = LoginGuard(MemoryStore(), "key")
    for i in range(MAX_FAILURES_PER_USERNAME):
        assert not await guard.locked(f"10.0.0.{i}", "tuban.ops")
        await guard.failed(f"10.0.0.{i}", "tuban.ops")
    assert await guard.locked("10.0.1.1", "Tuban.Ops")
    assert not await guard.locked("10.0.1.1", "lamongan.ops")
    assert not await guard.locked("10.0.1.1")  # the administrator's form names nobody
    await guard.succeeded("10.0.1.1", "tuban.ops")
    assert not await guard.locked("10.0.1.1", "tuban.ops")


def test_every_view_is_audited_without_values_that_name_a_person(context: AppContext) -> None:
    operator_id = _create(context)
    viewer = Viewer(operator_id, "tuban.ops", Scope(regency="Tuban"))
    record_view(context.unit_of_work(), ADMINISTRATOR, "dashboard", 12, "/admin", AT)
    record_view(
        context.unit_of_work(),
        viewer,
        "payments.csv",
        3,
        "/admin/payments.csv?village=Karanglo&district=Kerek&regency=Tuban&month=2026-11"
        "&nik=3523160101800001",
        AT + timedelta(minutes=1),
    )
    latest, first = audit_log(context.unit_of_work(), limit=10)
    assert (first.username, first.operator_id, first.scope, first.rows_shown) == (
        "administrator", None, "semua wilayah", 12,
    )  # fmt: skip
    assert (latest.username, latest.operator_id, latest.page, latest.scope) == (
        "tuban.ops", operator_id, "payments.csv", "Kabupaten Tuban",
    )  # fmt: skip
    assert "3523160101800001" not in latest.path and "nik=…" in latest.path
    assert "village=Karanglo" in latest.path and latest.at == AT + timedelta(minutes=1)
    assert len(audit_log(context.unit_of_work(), limit=1)) == 1


# The CLI -------------------------------------------------------------------------------


@pytest.fixture
def cli(context: AppContext, monkeypatch: pytest.MonkeyPatch) -> AppContext:
    """`sadar admin …` on the test database (hashing at the real cost: a few per test)."""
    monkeypatch.setattr(admin, "get_app_context", lambda: context)
    return context


def sadar(*arguments: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["admin", *arguments], input=input)
    return result.exit_code, result.output


def test_the_cli_creates_an_operator_behind_a_hidden_prompt(
    cli: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin, "stdin_is_terminal", lambda: True)
    code, output = sadar(
        "add-operator", "kerek", "--village", "Karanglo/Kerek/Tuban",
        "--village", "Sumberejo/Kerek/Tuban", input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert code == 0, output
    assert "Password" in output and "Repeat" in output and PASSWORD not in output
    assert "sees 2 desa" in output and "Karanglo / Kerek / Tuban" in output
    assert authenticate(cli.unit_of_work(), "kerek", PASSWORD, AT) is not None


def test_the_cli_reads_a_piped_password_and_never_an_argument(cli: AppContext) -> None:
    code, output = sadar("add-operator", "tuban.ops", "--regency", "Tuban", input=f"{PASSWORD}\n")
    assert code == 0 and "sees Kabupaten Tuban" in output, output
    code, output = sadar("add-operator", "x.ops", "--regency", "Tuban", "--password", PASSWORD)
    assert code == 2
    code, output = sadar("add-operator", "y.ops", "--regency", "Tuban", input="pendek\n")
    assert code != 0 and "12" in output
    code, output = sadar("add-operator", "z.ops", input=f"{PASSWORD}\n")
    assert code != 0 and "--regency or --village" in output
    code, output = sadar("add-operator", "No Good", "--regency", "Tuban", input="")
    assert code != 0 and "3 to 32" in output  # said before any password is asked for
    code, output = sadar(
        "add-operator", "w.ops", "--village", "Karanglo/Jenu/Tuban", input=f"{PASSWORD}\n"
    )
    assert code != 0 and "not in the village table" in output
    assert [o.username for o in list_operators(cli.unit_of_work())] == ["tuban.ops"]


def test_the_cli_lists_deactivates_resets_and_shows_the_audit(cli: AppContext) -> None:
    assert "no operators yet" in sadar("operators")[1]
    _create(cli, "tuban.ops")
    code, output = sadar("operators")
    assert code == 0 and "tuban.ops" in output and "Kabupaten Tuban" in output
    assert "active" in output and "never logged in" in output and "pbkdf2" not in output

    code, output = sadar("reset-operator-password", "tuban.ops", input="kata-sandi-baru-sekali\n")
    assert code == 0, output
    assert authenticate(cli.unit_of_work(), "tuban.ops", "kata-sandi-baru-sekali", AT)

    assert sadar("deactivate-operator", "tuban.ops")[1].strip() == "tuban.ops deactivated"
    assert "already inactive" in sadar("deactivate-operator", "tuban.ops")[1]
    assert "DEACTIVATED" in sadar("operators")[1]
    code, output = sadar("deactivate-operator", "nobody")
    assert code != 0 and "no operator" in output
    code, output = sadar("reset-operator-password", "nobody", input="")
    assert code != 0 and "no operator" in output

    assert "no views recorded yet" in sadar("audit")[1]
    for minute in range(3):
        record_view(cli.unit_of_work(), ADMINISTRATOR, "tickets", minute, "/admin",
                    AT + timedelta(minutes=minute))  # fmt: skip
    code, output = sadar("audit", "--limit", "2")
    assert code == 0 and len(output.strip().splitlines()) == 2
    assert output.startswith("2026-11-20 10:02:00  administrator")  # WIB, newest first
