"""The operations console in headless Chromium, as an administrator and as an operator of
one regency: closed without a login, the four answers of the summary, figures from the
database, charts whose marks carry the counted values, tables that sort and filter with a
CSV of the rows shown, a phone-sized screen, and an operator who sees only their regency
(with every view of personal data audited). Also an agent's jimpitan in chat listed on
the payments page, and the village's cash CSV that reconciles it."""

from __future__ import annotations

import csv
import html
import io
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import func, select, update

from bot.app_context import AppContext
from bot.db.models import Participant
from bot.domain.formatting import MONTHS
from bot.services.agents import enrol_agent
from bot.services.imports import import_villages
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import ADMIN_PASSWORD, Stack, reply_texts, start_registration
from tests.support.html_tables import table_rows
from tests.support.participants import make_participant

pytestmark = pytest.mark.browser

OPERATOR_PASSWORD = "operator-uji-2026"


def waiting(browser: webdriver.Chrome) -> WebDriverWait:
    # A form post reloads the page: an element found just before may go stale; look again.
    return WebDriverWait(browser, 30, ignored_exceptions=(StaleElementReferenceException,))


def log_in(browser: webdriver.Chrome, stack: Stack, username: str, password: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{stack.gateway_url}/admin/login")
    wait = waiting(browser)
    wait.until(ec.element_to_be_clickable((By.ID, "password")))
    browser.find_element(By.ID, "username").clear()
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "login").click()
    wait.until(ec.presence_of_element_located((By.ID, "who")))


def shown_rows(browser: webdriver.Chrome, table_id: str) -> list[list[str]]:
    return table_rows(browser.page_source, table_id)


def csv_of_link(browser: webdriver.Chrome, link_id: str) -> list[list[str]]:
    """The CSV behind a download link, fetched with the browser's own session."""
    href = browser.find_element(By.ID, link_id).get_attribute("href")
    assert href
    cookie = browser.get_cookie("sadar_admin")
    assert cookie is not None
    response = httpx.get(href, cookies={"sadar_admin": cookie["value"]})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def downloaded(browser: webdriver.Chrome, link_id: str, folder: Path) -> list[list[str]]:
    """Click a download link in Chromium and read the CSV file it saves."""
    folder.mkdir(parents=True, exist_ok=True)
    browser.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)}
    )
    browser.find_element(By.ID, link_id).click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done = [p for p in folder.glob("*.csv") if not p.name.endswith(".crdownload")]
        if done:
            return list(csv.reader(io.StringIO(done[0].read_text(encoding="utf-8"))))
        time.sleep(0.1)
    raise AssertionError(f"no CSV saved in {folder}: {list(folder.iterdir())}")


@pytest.fixture
def phone(browser: webdriver.Chrome) -> Iterator[webdriver.Chrome]:
    """The browser at a phone's size (a 390 × 844 CSS-pixel screen), then back."""
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    yield browser
    browser.set_window_size(size["width"], size["height"])


def test_the_console_needs_a_login(stack: Stack) -> None:
    for path in ("/admin", "/admin/pendaftaran", "/admin/bpjs", "/admin/desa.csv?table=coverage"):
        response = httpx.get(f"{stack.gateway_url}{path}", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    forged = httpx.get(f"{stack.gateway_url}/admin", cookies={"sadar_admin": "9999999999.abc"})
    assert forged.status_code == 303  # a made-up session cookie is sent back to the login


def test_an_administrator_sees_coverage_sorts_filters_and_downloads(
    stack: Stack, browser: webdriver.Chrome, tmp_path: Path
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
    # An answer once read as a place name (a refusal of JHT stored as the kecamatan).
    make_participant(
        context, f"tg:{uuid.uuid4().int % 10**9}", village=("Karanglo", "Gak Mau Jht", "Tuban")
    )
    with context.sessions() as session:
        registered_now = session.scalar(select(func.count()).select_from(Participant))
        karanglo = session.scalar(
            select(func.count()).select_from(Participant).where(Participant.village == "Karanglo")
        )
    today = context.clock.today()  # the stack's clock
    month_label = f"{MONTHS[today.month - 1][:3]} {today:%y}"
    context.engine.dispose()

    browser.get(f"{stack.gateway_url}/admin")
    wait = waiting(browser)
    wait.until(ec.element_to_be_clickable((By.ID, "password"))).send_keys("salah sandi")
    browser.find_element(By.ID, "login").click()
    wait.until(lambda b: "kata sandi salah" in b.find_element(By.ID, "error").text)
    browser.find_element(By.ID, "password").send_keys(ADMIN_PASSWORD)
    browser.find_element(By.ID, "login").click()
    # The summary answers the four questions, each with the page that says more.
    for card in ("registered", "gave-up", "reminders", "waiting-kpj"):
        wait.until(ec.presence_of_element_located((By.ID, card)))
    assert "semua wilayah" in browser.find_element(By.ID, "who").text

    browser.find_element(By.LINK_TEXT, "Cakupan desa").click()
    wait.until(ec.presence_of_element_located((By.ID, "coverage")))
    rows = {row[0]: row for row in shown_rows(browser, "coverage")}
    assert rows["Sumberejo / Kerek / Tuban"][1:4] == ["40", "0", "0%"]
    assert rows["Karanglo / Kerek / Tuban"][2] == str(karanglo - 1)
    # The place no village table lists is said so, for someone to put right.
    assert rows["Karanglo / Gak Mau Jht / Tuban"][-1] == "tidak ada di daftar desa"
    assert rows["Sumberejo / Kerek / Tuban"][-1] != "tidak ada di daftar desa"
    assert "tidak ada di daftar desa" in browser.find_element(By.ID, "unlisted").text

    # The monthly chart: an axis, and bars that carry what was counted.
    bars = browser.find_elements(
        By.CSS_SELECTOR,
        f'svg#activity rect[data-series="pendaftaran"][data-label="{month_label}"]',
    )
    assert len(bars) == 1 and int(bars[0].get_attribute("data-value")) == registered_now
    assert float(bars[0].get_attribute("height")) > 0
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg#activity rect.bar")) == 24
    assert browser.find_elements(By.CSS_SELECTOR, "svg#activity text.axis")

    # Sorting: "Peserta" ascending, then descending, by clicking its header.
    def participants_column() -> list[int]:
        return [int(row[2]) for row in shown_rows(browser, "coverage")]

    browser.find_element(By.PARTIAL_LINK_TEXT, "Peserta").click()
    wait.until(
        lambda b: "▲" in b.find_element(By.CSS_SELECTOR, "#coverage th[aria-sort=ascending]").text
    )
    assert participants_column() == sorted(participants_column())
    browser.find_element(By.PARTIAL_LINK_TEXT, "Peserta").click()
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#coverage th[aria-sort=descending]"))
    descending = participants_column()
    assert descending == sorted(descending, reverse=True) and len(descending) >= 2

    # Filtering: only the villages whose row mentions "sumberejo"; the CSV holds those rows.
    search = browser.find_element(By.NAME, "q")
    search.clear()
    search.send_keys("sumberejo")
    browser.find_element(By.ID, "apply").click()
    wait.until(lambda b: len(shown_rows(b, "coverage")) < len(descending))
    filtered = shown_rows(browser, "coverage")
    assert filtered and all("Sumberejo" in row[0] for row in filtered)
    header, *lines = downloaded(browser, "coverage-csv", tmp_path / "unduhan")
    assert header[0] == "Desa / kecamatan / kabupaten"
    assert [line[0] for line in lines] == [row[0] for row in filtered]
    assert [line[1:3] for line in lines] == [row[1:3] for row in filtered]

    browser.find_element(By.ID, "logout").click()
    wait.until(ec.element_to_be_clickable((By.ID, "password")))


def test_the_funnel_shows_a_registration_and_its_filters(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    """A resident registers in the web chat; the funnel page counts them at every step,
    the channel filter keeps them, another period does not."""
    sender = f"console-{uuid.uuid4().hex[:8]}"
    start_registration(stack, sender)
    for text in ("nama saya Sri Wahyuni", "3571025708800778", "17 agustus 1980",
                 "0812 3456 7892", "desa Karanglo", "petani", "1 juta", "ya"):  # fmt: skip
        stack.chat(sender, text)
    assert "SDR-" in " ".join(reply_texts(stack.chat(sender, "ya, daftarkan")))

    log_in(browser, stack, "", ADMIN_PASSWORD)
    browser.find_element(By.LINK_TEXT, "Pendaftaran").click()
    wait = waiting(browser)
    wait.until(ec.presence_of_element_located((By.ID, "funnel-steps")))
    steps = {row[0]: row for row in shown_rows(browser, "funnel-steps")}
    assert int(steps["Mulai daftar"][1]) >= 1 and int(steps["Terdaftar"][1]) >= 1
    done = browser.find_element(By.CSS_SELECTOR, 'svg#funnel rect[data-label="Terdaftar"]')
    assert int(done.get_attribute("data-value")) == int(steps["Terdaftar"][1])

    Select(browser.find_element(By.NAME, "channel")).select_by_visible_text("Obrolan web")
    browser.find_element(By.ID, "apply").click()
    wait.until(lambda b: "channel=web" in b.current_url)
    channels = shown_rows(browser, "funnel-channels")
    assert [row[0] for row in channels] == ["Obrolan web"] and int(channels[0][4]) >= 1

    # A period before the stack's day: nothing started then.
    browser.execute_script(
        "document.querySelector('input[name=from]').value = '2020-01-01';"
        "document.querySelector('input[name=to]').value = '2020-01-31';"
    )
    browser.find_element(By.ID, "apply").click()
    wait.until(lambda b: "from=2020-01-01" in b.current_url)
    steps = {row[0]: row for row in shown_rows(browser, "funnel-steps")}
    assert steps["Mulai daftar"][1] == "0"
    assert "01-01-2020 sampai 31-01-2020" in browser.page_source


def test_the_console_fits_a_phone(stack: Stack, phone: webdriver.Chrome) -> None:
    log_in(phone, stack, "", ADMIN_PASSWORD)
    wait = waiting(phone)
    for path in ("/admin", "/admin/pendaftaran", "/admin/desa", "/admin/bpjs"):
        phone.get(f"{stack.gateway_url}{path}")
        wait.until(ec.presence_of_element_located((By.ID, "who")))
        # Nothing wider than the screen: wide tables scroll inside their own box.
        overflow = phone.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0, f"{path} is {overflow} px wider than the phone"
    phone.get(f"{stack.gateway_url}/admin")
    cards = phone.find_elements(By.CSS_SELECTOR, ".cards .card")
    assert len(cards) == 4
    # One card under another, each nearly the screen's width.
    tops = [card.rect["y"] for card in cards]
    assert tops == sorted(tops) and len(set(tops)) == 4
    assert all(card.rect["width"] > 300 for card in cards)
    nav = phone.find_element(By.TAG_NAME, "nav")
    assert nav.is_displayed() and nav.find_elements(By.LINK_TEXT, "Pendaftaran")


def test_a_regency_operator_sees_only_their_regency(
    stack: Stack, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    regency = f"Uji{uuid.uuid4().hex[:6]}"
    context = AppContext.from_settings(stack.settings)
    villages = tmp_path / "villages.csv"
    villages.write_text(
        "name,district,regency,province,households,officials\n"
        f"Mulyorejo,Sukamaju,{regency},Jawa Timur,30,3\n"
    )
    import_villages(context.unit_of_work, villages, context.clock)
    own = [
        make_participant(
            context, f"tg:{uuid.uuid4().int % 10**9}", village=("Mulyorejo", "Sukamaju", regency),
            accepted=False,
        )
        for _ in range(2)
    ]  # fmt: skip
    other = make_participant(context, f"tg:{uuid.uuid4().int % 10**9}", accepted=False)  # Tuban
    with context.sessions() as session:
        references = dict(
            session.execute(
                select(Participant.id, Participant.reference).where(
                    Participant.id.in_([*own, other])
                )
            ).all()
        )
    context.engine.dispose()

    # The operator is created by the CLI, the password given on stdin (hidden at a terminal).
    username = f"op{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "SADAR_DATABASE_URL": stack.settings.database_url,
        "SADAR_PII_HASH_KEY": TEST_PII_KEY,
        "SADAR_PII_ENCRYPTION_KEYS": stack.settings.pii_encryption_keys.get_secret_value(),
    }

    def sadar(*args: str, stdin: str = "") -> str:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", *args], input=stdin, env=env,
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip

    sadar("admin", "add-operator", username, "--regency", regency, stdin=OPERATOR_PASSWORD + "\n")
    assert username in sadar("admin", "operators")

    log_in(browser, stack, username, OPERATOR_PASSWORD)
    wait = waiting(browser)
    assert f"Kabupaten {regency}" in browser.find_element(By.ID, "who").text

    browser.get(f"{stack.gateway_url}/admin/desa")
    wait.until(ec.presence_of_element_located((By.ID, "coverage")))
    areas = [row[0] for row in shown_rows(browser, "coverage")]
    assert areas == [f"Mulyorejo / Sukamaju / {regency}"]
    assert shown_rows(browser, "coverage")[0][2] == "2"

    browser.get(f"{stack.gateway_url}/admin/bpjs")
    wait.until(ec.presence_of_element_located((By.ID, "waiting")))
    waiting_refs = {row[0] for row in shown_rows(browser, "waiting")}
    assert waiting_refs == {references[i] for i in own}
    assert references[other] not in browser.page_source
    header, *lines = csv_of_link(browser, "waiting-csv")
    assert header[:2] == ["Nomor Sadar", "Warga"]
    assert {line[0] for line in lines} == waiting_refs

    # Another regency's cash book is refused, not shown.
    cookie = browser.get_cookie("sadar_admin")
    assert cookie is not None
    refused = httpx.get(
        f"{stack.gateway_url}/admin/payments.csv",
        params={"village": "Karanglo", "district": "Kerek", "regency": "Tuban"},
        cookies={"sadar_admin": cookie["value"]},
    )
    assert refused.status_code == 403

    # Each view of personal data (the waiting list, its CSV) is in the audit, by name.
    time.sleep(0.2)
    audit = sadar("admin", "audit", "--limit", "20")
    mine = [line for line in audit.splitlines() if username in line]
    assert any("bpjs" in line for line in mine) and any("menunggu-kpj.csv" in line for line in mine)
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
        page = admin.get("/admin/pembayaran", params={"month": month}).text
        listed = [row for row in table_rows(page, "payments") if row[1] == group_receipt.group(0)]
        assert len(listed) == 3
        for row in listed:
            assert row[3:5] == ["Sidoharjo", "Wati Perisai"] and row[6] == "2"
            assert row[8] == "Rp33.600"
        assert any("Sut*** W." in row[5] for row in listed)
        assert "Sutini" not in page
        [cash] = [row for row in table_rows(page, "cash") if row[0] == "Sidoharjo / Soko / Tuban"]
        assert cash[1:3] == ["3", "Rp100.800"]
        link = re.search(r'href="(/admin/payments\.csv\?[^"]*village=Sidoharjo[^"]*)"', page)
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
