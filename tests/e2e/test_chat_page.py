"""The web chat page in headless Chromium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.browser


def _bot_texts(browser: webdriver.Chrome) -> list[str]:
    return [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".msg.bot")]


def test_the_page_greets_first_with_the_main_choices(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    browser.delete_all_cookies()
    browser.get(stack.gateway_url + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()  # a new visitor: nothing typed yet
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: any(t.startswith("Halo! Saya Sadar") for t in _bot_texts(b)))
    titles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "div.buttons button")]
    assert titles[:4] == ["Daftar sekarang", "Besar iuran", "Manfaatnya", "Cek status"]
    assert browser.find_elements(By.CSS_SELECTOR, ".msg.user") == []
    browser.find_element(By.XPATH, "//div[@class='buttons']/button[.='Besar iuran']").click()
    wait.until(lambda b: any("Rp16.800" in t for t in _bot_texts(b)))


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
