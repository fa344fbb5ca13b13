"""The web chat page in headless Chromium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import select, update

from bot.db.models import ConsentRecord, WebSession
from bot.infra.privacy import keyed_hash
from tests.conftest import TEST_PII_KEY
from tests.e2e.conftest import Stack
from tests.support.web_chat import sender_id_of

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


def _session(browser: webdriver.Chrome) -> str | None:
    return browser.execute_script("return localStorage.getItem('sadar-session')")


def _open_fresh(stack: Stack, browser: webdriver.Chrome) -> WebDriverWait:
    browser.get(stack.gateway_url + "/")
    browser.execute_script("localStorage.clear()")
    browser.refresh()
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: any(t.startswith("Halo! Saya Sadar") for t in _bot_texts(b)))
    return wait


def _type(browser: webdriver.Chrome, wait: WebDriverWait, text: str) -> None:
    wait.until(ec.element_to_be_clickable((By.ID, "text"))).send_keys(text)
    browser.find_element(By.ID, "send").click()


def test_the_page_uses_a_signed_id_the_server_issued(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    _open_fresh(stack, browser)
    session = _session(browser)
    assert session and re.fullmatch(r"[0-9a-f]{24}\.[0-9a-f]{32}", session)
    # A made-up id in the browser's storage is refused and replaced, not continued.
    browser.execute_script("localStorage.setItem('sadar-session', 'made-up-by-someone')")
    browser.refresh()
    wait = WebDriverWait(browser, 30)
    wait.until(lambda b: any(t.startswith("Halo! Saya Sadar") for t in _bot_texts(b)))
    replaced = _session(browser)
    assert replaced not in (None, "made-up-by-someone", session)


def test_keluar_ends_the_conversation_and_the_page_forgets_it(
    stack: Stack, browser: webdriver.Chrome
) -> None:
    wait = _open_fresh(stack, browser)
    old = _session(browser)
    browser.find_element(By.ID, "logout").click()
    wait.until(lambda b: any(t.startswith("Percakapan sudah diakhiri") for t in _bot_texts(b)))
    wait.until(lambda b: _session(b) is None)
    refused = httpx.post(f"{stack.gateway_url}/api/chat", json={"sender": old, "text": "halo"})
    assert refused.status_code == 422
    # Typing "keluar" works the same; a new message starts a new conversation.
    _type(browser, wait, "halo")
    wait.until(lambda b: _session(b) not in (None, old))
    new = _session(browser)
    _type(browser, wait, "keluar")
    wait.until(lambda b: _session(b) is None)
    assert (
        httpx.post(
            f"{stack.gateway_url}/api/chat", json={"sender": new, "text": "halo"}
        ).status_code
        == 422
    )


def test_an_idle_conversation_expires_and_the_next_message_starts_a_new_one(
    stack: Stack, browser: webdriver.Chrome, db
) -> None:
    wait = _open_fresh(stack, browser)
    _type(browser, wait, "mau daftar")
    wait.until(lambda b: any("minta persetujuan" in t for t in _bot_texts(b)))
    old = _session(browser)
    # The idle minutes pass (the stack's clock runs at the real pace: move the last activity).
    quiet = timedelta(minutes=stack.settings.web_session_idle_minutes + 1)
    with db.begin() as session:
        session.execute(update(WebSession).values(last_active_at=WebSession.last_active_at - quiet))
    before = len(_bot_texts(browser))
    _type(browser, wait, "ya setuju")
    wait.until(lambda b: _session(b) not in (None, old))
    wait.until(lambda b: len(_bot_texts(b)) > before)
    # A new conversation: "ya" did not answer the old one's consent question.
    assert not any("sudah kami catat" in t for t in _bot_texts(browser)[before:])
    senders = [sender_id_of(_session(browser)), sender_id_of(old)]
    with db() as session:
        rows = session.scalars(
            select(ConsentRecord).where(
                ConsentRecord.sender_hash.in_([keyed_hash(TEST_PII_KEY, s) for s in senders])
            )
        ).all()
    assert rows == []
