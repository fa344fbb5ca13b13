"""The browser tests use Debian's chromedriver and never let Selenium Manager fetch a
driver or send usage statistics (issue 25, point 7)."""

from __future__ import annotations

import os

import pytest
from selenium import webdriver
from selenium.webdriver.common import driver_finder
from selenium.webdriver.common.driver_finder import DriverFinder

from bot.infra.settings import PROJECT_ROOT
from tests.support.stack import CHROMEDRIVER, SELENIUM_ENVIRONMENT, chrome_service


def test_the_driver_is_the_pinned_debian_one_without_selenium_manager(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_selenium_manager(*args: object) -> dict:
        raise AssertionError("Selenium Manager was started")

    monkeypatch.setattr(driver_finder.SeleniumManager, "binary_paths", no_selenium_manager)
    for name in SELENIUM_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    service = chrome_service()
    assert service.path == str(CHROMEDRIVER) == "/usr/bin/chromedriver"
    finder = DriverFinder(service, webdriver.ChromeOptions())
    assert finder.get_driver_path() == "/usr/bin/chromedriver"
    assert os.environ["SE_AVOID_STATS"] == "true"  # should it ever run: no statistics
    assert os.environ["SE_OFFLINE"] == "true"  # and no downloads


def test_the_test_services_script_installs_debians_chromium_driver() -> None:
    """The script installs packages as root, so it is read, not run: the pinned path
    itself must be present, or the chromium-driver package is installed."""
    script = (PROJECT_ROOT / "scripts" / "ensure-test-services").read_text()
    assert f"[ -x {CHROMEDRIVER} ] || missing+=(chromium-driver)" in script
