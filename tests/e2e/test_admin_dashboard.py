"""The coverage dashboard in headless Chromium: closed without the password, figures from
the database, and a chart whose bars carry the counted values."""

from __future__ import annotations

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from bot.app_context import AppContext
from bot.db.models import Participant
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
