"""The web chat page in headless Chromium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("chromium and chromedriver are needed: `make test` installs them (Debian).")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=420,800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    # An explicit driver path: Selenium Manager never tries to download one.
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        yield chrome
    finally:
        chrome.quit()


def _bot_texts(browser: webdriver.Chrome) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.bot")]


def test_a_person_can_chat_and_press_buttons(stack: Stack, browser: webdriver.Chrome) -> None:
    browser.get(stack.gateway_url + "/")
    wait = WebDriverWait(browser, 30)
    box = wait.until(ec.element_to_be_clickable((By.ID, "text")))
    box.send_keys("halo")
    browser.find_element(By.ID, "send").click()

    wait.until(lambda b: any(t.startswith("Halo! Saya Sadar") for t in _bot_texts(b)))
    button = wait.until(
        ec.element_to_be_clickable(
            (By.XPATH, "//div[@class='buttons']/button[.='Daftar sekarang']")
        )
    )
    button.click()
    wait.until(lambda b: any("minta persetujuan" in t for t in _bot_texts(b)))
    # The pressed button is shown as the person's message, by its title.
    users = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.user")]
    assert users == ["halo", "Daftar sekarang"]

    wait.until(
        ec.element_to_be_clickable((By.XPATH, "//div[@class='buttons']/button[.='Ya, setuju']"))
    ).click()
    wait.until(lambda b: any("sudah kami catat" in t for t in _bot_texts(b)))
