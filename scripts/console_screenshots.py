"""Screenshots of the operations console for docs/operations.md: `make screenshots`.

Builds a throw-away SQLite database (migrated, then filled by scripts/console_demo.py on a
fixed clock: Friday 18 December 2026, 10:00 WIB), serves the real gateway
(bot.gateway.app.create_app, Rasa replaced at its HTTP boundary as the tests do) on a free
loopback port, and drives headless Chromium with Selenium the way the browser tests do
(Debian's chromium and chromedriver, no network): logged in as the administrator and as an
operator limited to Kabupaten Tuban, each main view on a desktop (1280 wide) and a phone
(390 wide) screen, written to docs/images/console/*.png. The same data and clock give the
same figures every run (only the references and receipts, drawn at random by the
services, differ).

Needs chromium and /usr/bin/chromedriver (`make test` installs them:
scripts/ensure-test-services)."""

from __future__ import annotations

import base64
import io
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Settings come from this script alone: no .env, no SADAR_* of the shell (a real
# database, a Telegram token or production mode must not leak into a demo).
for _name in [name for name in os.environ if name.startswith("SADAR_")]:
    del os.environ[_name]

import uvicorn  # noqa: E402
from PIL import Image  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from bot.app_context import AppContext  # noqa: E402
from bot.db.migrate import upgrade  # noqa: E402
from bot.domain.clock import FixedClock  # noqa: E402
from bot.gateway.app import create_app  # noqa: E402
from bot.infra.passwords import hash_password  # noqa: E402
from bot.infra.settings import Settings  # noqa: E402
from bot.services.operators import create_operator  # noqa: E402
from scripts.console_demo import DEMO_NOW, seed_demo  # noqa: E402
from tests.support.fake_rasa import FakeRasaREST  # noqa: E402
from tests.support.stack import (  # noqa: E402
    CHROMEDRIVER,
    SELENIUM_ENVIRONMENT,
    chromium_options,
)

OUTPUT = ROOT / "docs" / "images" / "console"
#: Demo-only secrets, like the tests' (never a real one).
DEMO_PII_HASH_KEY = "demo-key-for-keyed-hashes-screenshots-0000"
DEMO_PII_ENCRYPTION_KEY = base64.urlsafe_b64encode(b"sadar-console-screenshots-demo!!").decode()
ADMIN_PASSWORD = "demo-admin-password"
OPERATOR = "koordinator.tuban"
OPERATOR_PASSWORD = "demo-operator-password"
#: Fewer PBKDF2 rounds than a real account: logging in stays instant.
DEMO_ITERATIONS = 1000
#: Tall pages are cut here: the pictures go into git.
MAX_HEIGHT = 2400
BUDGET_BYTES = 2_000_000


@dataclass(frozen=True)
class Screen:
    width: int
    height: int
    mobile: bool


DESKTOP = Screen(1280, 900, mobile=False)
PHONE = Screen(390, 844, mobile=True)


@dataclass(frozen=True)
class Shot:
    name: str
    path: str
    screen: Screen
    #: One screenful from this element's top (its id) instead of the whole page from the
    #: top (as tall as the page, up to MAX_HEIGHT).
    anchor: str | None = None


ADMIN_SHOTS = (
    Shot("summary-desktop", "/admin", DESKTOP),
    Shot("summary-phone", "/admin", PHONE),
    Shot("funnel-desktop", "/admin/pendaftaran", DESKTOP),
    Shot("funnel-phone", "/admin/pendaftaran", PHONE),
    Shot("delivery-desktop", "/admin/pengiriman", DESKTOP),
    Shot("bpjs-desktop", "/admin/bpjs", DESKTOP),
    Shot("bpjs-rejections-desktop", "/admin/bpjs", DESKTOP, anchor="rejections"),
)
OPERATOR_SHOTS = (Shot("operator-summary-phone", "/admin", PHONE),)


def say(text: str) -> None:
    print(f"==> {text}", flush=True)


def fail(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)
    raise SystemExit(1)


def chromium_or_fail() -> str:
    """Debian's chromium and its driver at /usr/bin/chromedriver, or a clear exit."""
    chromium = shutil.which("chromium")
    missing = [
        package
        for package, present in (
            ("chromium", chromium),
            ("chromium-driver", CHROMEDRIVER.is_file()),
        )
        if not present
    ]
    if chromium is None or missing:
        fail(
            f"the screenshots need Chromium and {CHROMEDRIVER} (Debian packages chromium and "
            f"chromium-driver); missing: {', '.join(missing)}. `make test` installs them "
            "(scripts/ensure-test-services), or run: sudo apt-get install -y "
            f"--no-install-recommends {' '.join(missing)}"
        )
    assert chromium is not None
    return chromium


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_settings(data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        env="development",
        log_level="WARNING",
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'sadar.db'}",
        pii_hash_key=SecretStr(DEMO_PII_HASH_KEY),
        pii_encryption_keys=SecretStr(DEMO_PII_ENCRYPTION_KEY),
        admin_password_hash=SecretStr(hash_password(ADMIN_PASSWORD, iterations=DEMO_ITERATIONS)),
    )


def seed(settings: Settings) -> None:
    upgrade(settings.database_url)
    context = AppContext.from_settings(settings, FixedClock(DEMO_NOW))
    try:
        seed_demo(context)
        create_operator(
            context.unit_of_work(), OPERATOR, OPERATOR_PASSWORD, regency="Tuban",
            now=DEMO_NOW, iterations=DEMO_ITERATIONS,
        )  # fmt: skip
    finally:
        context.engine.dispose()


class Gateway:
    """The real gateway under uvicorn in a background thread, on a free loopback port."""

    def __init__(self, settings: Settings) -> None:
        self.port = free_port()
        app = create_app(settings, rasa_http=FakeRasaREST().client(), clock=FixedClock(DEMO_NOW))
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gateway", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Gateway:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                fail("the gateway did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def browser(chromium: str, profile: Path) -> webdriver.Chrome:
    """Headless Chromium with tests/support/stack.py's flags."""
    os.environ.update(SELENIUM_ENVIRONMENT)
    size = f"--window-size={DESKTOP.width},{DESKTOP.height}"
    options = chromium_options(chromium, profile, "--hide-scrollbars", size)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)


def emulate(chrome: webdriver.Chrome, screen: Screen, height: int | None = None) -> None:
    chrome.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {
            "width": screen.width,
            "height": height or screen.height,
            "deviceScaleFactor": 1,
            "mobile": screen.mobile,
        },
    )


def log_in(chrome: webdriver.Chrome, base: str, username: str, password: str) -> None:
    chrome.delete_all_cookies()
    emulate(chrome, DESKTOP)
    chrome.get(f"{base}/admin/login")
    wait = WebDriverWait(chrome, 30)
    wait.until(ec.element_to_be_clickable((By.ID, "password")))
    if username:
        chrome.find_element(By.ID, "username").send_keys(username)
    chrome.find_element(By.ID, "password").send_keys(password)
    chrome.find_element(By.ID, "login").click()
    wait.until(ec.presence_of_element_located((By.ID, "logout")))


def take(chrome: webdriver.Chrome, base: str, shot: Shot) -> Path:
    emulate(chrome, shot.screen)
    chrome.get(f"{base}{shot.path}")
    WebDriverWait(chrome, 30).until(ec.presence_of_element_located((By.TAG_NAME, "footer")))
    if shot.anchor is None:
        # The whole page: the window as tall as the page, the picture cut below the footer.
        page = int(chrome.execute_script("return document.documentElement.scrollHeight"))
        emulate(chrome, shot.screen, min(page, MAX_HEIGHT))
        bottom = chrome.execute_script(
            "return document.querySelector('footer').getBoundingClientRect().bottom"
        )
        height = min(int(bottom) + 8, page, MAX_HEIGHT)
    else:
        emulate(chrome, shot.screen)
        chrome.execute_script(
            "window.scrollTo(0, document.getElementById(arguments[0]).closest('.table')"
            ".getBoundingClientRect().top + window.scrollY - 12)",
            shot.anchor,
        )
        height = shot.screen.height
    target = OUTPUT / f"{shot.name}.png"
    save_small(chrome.get_screenshot_as_png(), target, shot.screen.width, height)
    return target


def save_small(png: bytes, target: Path, width: int, height: int) -> None:
    """The screenshot as a palette PNG (the console has few colours: a quarter of the
    bytes, the same look), cut to the emulated screen."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image = image.crop((0, 0, min(width, image.width), min(height, image.height)))
    small = image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(target, optimize=True)


def main() -> None:
    started = time.monotonic()
    chromium = chromium_or_fail()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sadar-screenshots-") as tmp:
        work = Path(tmp)
        settings = demo_settings(work / "data")
        settings.data_dir.mkdir()
        say(f"demo data on a fixed clock ({DEMO_NOW:%d-%m-%Y %H:%M} WIB) in {work}")
        seed(settings)
        with Gateway(settings) as gateway:
            say(f"gateway at {gateway.url}; headless Chromium")
            chrome = browser(chromium, work / "chromium")
            try:
                for username, password, shots in (
                    ("", ADMIN_PASSWORD, ADMIN_SHOTS),
                    (OPERATOR, OPERATOR_PASSWORD, OPERATOR_SHOTS),
                ):
                    say(f"logged in as {username or 'the administrator'}")
                    log_in(chrome, gateway.url, username, password)
                    for shot in shots:
                        written.append(take(chrome, gateway.url, shot))
                        print(f"    {shot.path} ({shot.screen.width} wide) -> {shot.name}.png")
            finally:
                chrome.quit()
    total = 0
    say(f"written in {time.monotonic() - started:.0f} s:")
    for path in written:
        size = path.stat().st_size
        total += size
        with Image.open(path) as image:
            print(
                f"    {path.relative_to(ROOT)}  {image.width}x{image.height}  {size / 1024:.0f} KiB"
            )
    print(f"    total {total / 1024:.0f} KiB")
    if total > BUDGET_BYTES:
        print(
            f"warning: the screenshots take {total / 1e6:.1f} MB, over the "
            f"{BUDGET_BYTES / 1e6:.0f} MB budget for files kept in git",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
