"""Reading domain.yml's responses from an action: the text a person was shown (stored with
consent decisions, composed into lists)."""

from __future__ import annotations

from rasa_sdk.types import DomainDict


def response_text(domain: DomainDict, response: str) -> str:
    """The first text variant of a domain response: what the person was shown."""
    variants = domain.get("responses", {}).get(response) or []
    if not variants or not variants[0].get("text"):
        raise LookupError(f"domain.yml has no text for response {response!r}")
    return str(variants[0]["text"])
