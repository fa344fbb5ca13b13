"""The coverage dashboard in headless Chromium: closed without the password, figures from
the database, and a chart whose bars carry the counted values; an agent's jimpitan in chat
listed on the dashboard, and the village's cash CSV that reconciles it."""

from __future__ import annotations

import csv
import html
import io
import re
import uuid

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select, update

from bot.app_context import AppContext
from bot.db.models import Participant
from bot.services.agents import enrol_agent
from bot.services.imports import import_villages
from tests.e2e.conftest import ADMIN_PASSWORD, Stack
from tests.support.participants import make_participant

pytestmark = pytest.mark.browser


def test_the_dashboard_needs_the_password(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway_url}/admin", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    forged = httpx.get(f"{stack.gateway_url}/admin", cookies={"sadar_admin": "9999999999.abc"})
    assert forged.status_code == 303  # a made-up session cookie is sent back to the login


def test_an_administrator_sees_coverage_and_the_monthly_chart(
    stack: Stack,
    browser: webdriver.Chrome,
    tmp_path,
) -> None:
    context = AppContext.from_settings(stack.settings)
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "name,district,regency,province,households,officials\n"
        "Sumberejo,Kerek,Tuban,Jawa Timur,40,4\n"
    )
    import_villages(context.unit_of_work, villages, context.clock)
    for i in range(3):
        make_participant(context, f"tg:{7700 + i}")
    with context.sessions() as session:
        registered_now = session.scalar(select(func.count()).select_from(Participant))
        karanglo = session.scalar(
            select(func.count()).select_from(Participant).where(Participant.village == "Karanglo")
        )
    this_month = context.clock.today().strftime("%Y-%m")  # the stack's clock
    context.engine.dispose()

    # A form post reloads the page: an element found just before may go stale; look again.
    wait = WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))
    browser.get(f"{stack.gateway_url}/admin")
    wait.until(ec.element_to_be_clickable((By.ID, "password"))).send_keys("salah sandi")
    browser.find_element(By.ID, "login").click()
    wait.until(lambda b: "Kata sandi salah" in b.find_element(By.ID, "error").text)
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login").click()
    table = wait.until(ec.presence_of_element_located((By.ID, "coverage")))

    rows = {
        r.find_elements(By.TAG_NAME, "td")[0].text: [
            c.text for c in r.find_elements(By.TAG_NAME, "td")
        ]
        for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
    }
    assert rows["Sumberejo / Kerek / Tuban"][1:4] == ["40", "0", "0%"]
    assert rows["Karanglo / Kerek / Tuban"][2] == str(karanglo)

    bars = browser.find_elements(
        By.CSS_SELECTOR, f'svg#activity rect.registrations[data-month="{this_month}"]'
    )
    assert len(bars) == 1 and int(bars[0].get_attribute("data-value")) == registered_now
    assert int(bars[0].get_attribute("height")) > 0
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg#activity rect.bar")) == 24

    browser.find_element(By.ID, "logout").click()
    wait.until(ec.element_to_be_clickable((By.ID, "password")))


def test_an_agent_s_jimpitan_is_on_the_dashboard_and_the_village_csv_reconciles_it(
    stack: Stack,
) -> None:
    """Cash collected for a jimpitan group through the agent's WhatsApp: the reply names
    each member (masked) and the month they are now paid through; /admin lists each
    receipt under the group receipt; the village's CSV for the month totals the cash."""
    village = ("Sidoharjo", "Soko", "Tuban")  # no other test pays in Sidoharjo
    context = AppContext.from_settings(stack.settings)
    agent_number = f"+62819{uuid.uuid4().int % 10**7:07d}"
    enrol_agent(
        context.unit_of_work(), context.cipher, context.hash_key, name="Wati Perisai",
        phone=agent_number, village=village[0], district=village[1], regency=village[2],
    )  # fmt: skip
    names = ["Sutini Wahyuningsih", "Bambang Prasetyo", "Ahmad Dahlan"]
    ids = [
        make_participant(context, f"tg:{9900 + i + uuid.uuid4().int % 10**5 * 10}", village=village)
        for i in range(3)
    ]
    with context.sessions.begin() as session:
        for pid, name in zip(ids, names, strict=True):
            session.execute(
                update(Participant)
                .where(Participant.id == pid)
                .values(full_name_encrypted=context.cipher.encrypt(name))
            )
        refs = [
            session.scalars(select(Participant.reference).where(Participant.id == pid)).one()
            for pid in ids
        ]
    month = context.clock.today().strftime("%Y-%m")
    context.engine.dispose()

    # The receipt, then how many members were told on their own phone (issue 28).
    reply, told = stack.whatsapp(agent_number, f"jimpitan {' '.join(refs)} 2 bulan")
    assert told.startswith("Semua 3 anggota sudah diberi tahu")
    assert reply.startswith("Jimpitan tercatat: 3 anggota, 2 bulan, total Rp100.800.")
    group_receipt = re.search(r"JMP-[0-9A-Z]{4}-[0-9A-Z]{4}", reply)
    assert group_receipt, reply
    for masked, reference in zip(["Sut*** W.", "Bam*** P.", "Ahm*** D."], refs, strict=True):
        assert f"- {masked} ({reference}): Desember 2026" in reply
    assert "Sutini" not in reply and "Bambang" not in reply

    with httpx.Client(base_url=stack.gateway_url) as admin:
        assert admin.post("/admin/login", data={"password": ADMIN_PASSWORD}).status_code == 303
        page = admin.get("/admin", params={"month": month}).text
        listed = [
            row for row in re.findall(r"<tr>.*?</tr>", page, re.S)
            if f"<td>{group_receipt.group(0)}</td>" in row
        ]  # fmt: skip
        assert len(listed) == 3
        for row in listed:
            assert "<td>Wati Perisai</td>" in row and "<td>Sidoharjo</td>" in row
            assert "<td>Rp33.600</td>" in row and "<td>2</td>" in row
        assert any(html.escape("Sut*** W.") in row for row in listed)
        assert "Sutini" not in page
        table = re.search(r'<table id="cash">.*?</table>', page, re.S)
        assert table, page[-3000:]
        cash = re.search(r"<tr><td>Sidoharjo / Soko / Tuban</td>.*?</tr>", table.group(0))
        assert cash, table.group(0)
        assert "<td>3</td><td>Rp100.800</td>" in cash.group(0)
        link = re.search(r'href="(/admin/payments\.csv\?[^"]+)"', cash.group(0))
        assert link
        download = admin.get(html.unescape(link.group(1)))
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert "attachment" in download.headers["content-disposition"]
        # Without the session, no CSV.
        assert httpx.get(f"{stack.gateway_url}{html.unescape(link.group(1))}").status_code == 303

    rows = list(csv.DictReader(io.StringIO(download.text)))
    *receipts, total = rows
    assert {r["group_receipt"] for r in receipts} == {group_receipt.group(0)}
    assert sorted(r["participant_reference"] for r in receipts) == sorted(refs)
    assert {r["agent"] for r in receipts} == {"Wati Perisai"}
    assert total["receipt"] == "total" and int(total["amount"]) == 100_800
    assert int(total["amount"]) == sum(int(r["amount"]) for r in receipts)
    assert "Sutini" not in download.text and "+62" not in download.text
