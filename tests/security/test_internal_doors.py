"""The action server and Rasa's HTTP API are closed doors (issue 15, point 2): a forged call
without the shared token gets 401, and both listen on loopback only."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.support.stack import ACTION_SERVER_TOKEN, RASA_API_TOKEN, Stack


def action_call(name: str, sender: str) -> dict:
    """The body Rasa posts to the action server's /webhook."""
    return {
        "next_action": name,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": {"text": "cek status", "intent": {"name": "check_status"}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {"responses": {}},
        "version": "3.6.21",
    }


def test_a_forged_action_call_is_refused_and_the_real_one_works(stack: Stack) -> None:
    url = f"http://127.0.0.1:{stack.settings.action_server_port}/webhook"
    sender = f"wa:+62811{uuid.uuid4().int % 10**7:07d}"
    body = action_call("action_delete_my_data", sender)
    assert httpx.post(url, json=body).status_code == 401
    assert httpx.post(url, json=body, params={"token": "guess"}).status_code == 401
    assert httpx.post(url, json=body, params={"token": ""}).status_code == 401
    real = httpx.post(url, json=action_call("action_check_status", sender),
                      params={"token": ACTION_SERVER_TOKEN})  # fmt: skip
    assert real.status_code == 200, real.text
    assert httpx.get(f"http://127.0.0.1:{stack.settings.action_server_port}/health").is_success


def test_rasas_api_needs_its_token(stack: Stack) -> None:
    url = f"{stack.settings.rasa_url}/conversations/web:someone/tracker"
    assert httpx.get(url).status_code in (401, 403)
    assert httpx.get(url, params={"token": "guess"}).status_code in (401, 403)
    assert httpx.get(url, params={"token": RASA_API_TOKEN}).status_code == 200


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp{,6})."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_rasa_and_the_action_server_listen_on_loopback_only(stack: Stack) -> None:
    loopback_v4 = "0100007F"  # 127.0.0.1, little-endian hex
    for port in (stack.settings.action_server_port, stack.settings.rasa_port):
        addresses = listening_addresses(port)
        assert addresses == {loopback_v4}, (port, addresses)
