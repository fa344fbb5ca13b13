"""What a message says about a conversation with a person (issue 18): an agent's answer to
a ticket ("balas T-1042 …"), and a resident's "selesai" that hands them back to the bot.
Pure, like the other readers in bot/understanding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from nlu.parsing.common import fold

#: "balas T-1042 iya bu, besok saya ke rumah", "Balas t1042: …", "bls T 1042 …".
_AGENT_REPLY = re.compile(
    r"^\s*(?:balas|bls|jawab)\s+t\s*-?\s*(\d{1,7})\b\s*[:,.\-]?\s*(.*)$",
    re.IGNORECASE | re.DOTALL,
)
#: Words that end the conversation with a person ("selesai", "cukup", "kembali ke bot").
_DONE_WORDS = frozenset(
    {
        "selesai", "slesai", "selese", "sls", "cukup", "sekian", "udahan", "rampung", "rengse",
        "réngsé", "beres", "kembali_ke_bot",
    }
)  # fmt: skip
#: What may surround them: thanks, "sudah", "ya", a form of address. Any other word ("belum
#: selesai", "kapan selesainya", "selesai bayar") makes the message something else.
_AROUND_DONE = frozenset(
    {
        "sudah", "udah", "sdh", "dah", "wis", "uwis", "wes", "sampun", "mpun", "tos", "atos",
        "parantos", "ok", "oke", "okey", "okay",
        "baik", "ya", "iya", "yah", "nggih", "sip", "siap", "deh", "dulu", "aja", "saja",
        "itu", "dari", "saya", "banyak", "sekali", "kak", "bu", "pak", "mas", "mbak", "min",
        "dik", "bang", "teh", "kang", "bapak", "ibu", "admin", "terima_kasih", "makasih",
        "trims", "thanks", "thx", "tq", "matur_nuwun", "suwun", "sanget", "nuhun", "hatur_nuhun",
    }
)  # fmt: skip
_DONE_PHRASES = (
    (re.compile(r"\b(?:terima|trima|terimak)\s*kasih\b|\bterimakasih\b"), " terima_kasih "),
    (re.compile(r"\bmatur\s*(?:nuwun|suwun)\b"), " matur_nuwun "),
    (re.compile(r"\bhatur\s*nuhun\b"), " hatur_nuhun "),
    (re.compile(r"\bkembali\s+ke\s+bot\b"), " kembali_ke_bot "),
    (re.compile(r"\bthank\s*(?:you|u)\b"), " thanks "),
)
#: Longer than this is a message for the agent, whatever words it has.
_MAX_DONE_WORDS = 10


class TicketAction(StrEnum):
    ANSWER = "answer"
    #: "ambil T-1042": an agent takes a ticket (one waiting for the administrators, or a
    #: colleague's).
    TAKE = "take"
    #: "oper T-1042": the agent passes it on (to the next agent, else the administrators).
    PASS = "pass"


@dataclass(frozen=True)
class AgentReply:
    ticket_number: int
    text: str
    action: TicketAction = TicketAction.ANSWER


_TICKET_COMMAND = re.compile(
    r"^\s*(ambil|oper|operkan|lempar)\s+t\s*-?\s*(\d{1,7})\s*[.!]*\s*$", re.IGNORECASE
)
#: How a forwarded question starts: "T-1042 · …" (messages.HANDOFF_TO_AGENT, the notice).
_NOTICE = re.compile(r"^(T-\d{1,7}) · ")


def read_agent_reply(text: str) -> AgentReply | None:
    """An answer to a ticket, a take or a pass, or None. An empty answer is no answer."""
    command = _TICKET_COMMAND.match(text or "")
    if command is not None:
        action = TicketAction.TAKE if command.group(1).lower() == "ambil" else TicketAction.PASS
        return AgentReply(int(command.group(2)), "", action)
    match = _AGENT_REPLY.match(text or "")
    if match is None or not match.group(2).strip():
        return None
    return AgentReply(int(match.group(1)), match.group(2).strip())


def as_ticket_answer(quoted: str, text: str) -> str:
    """Telegram's "reply" to a forwarded question is an answer to its ticket; any other
    reply stays what it was."""
    match = _NOTICE.match(quoted or "")
    if match is None or read_agent_reply(text) is not None:
        return text
    return f"balas {match.group(1)} {text}"


def wants_the_bot_back(text: str) -> bool:
    """The resident ends the conversation with the person: "selesai", alone or with a
    thank-you and the words around it ("selesai, makasih", "udah selesai ya makasih banyak",
    "cukup bu, matur nuwun"); "belum selesai" or a question is still for the person."""
    folded = fold(text or "")
    for pattern, token in _DONE_PHRASES:
        folded = pattern.sub(token, folded)
    words = re.findall(r"\w+", folded)
    if not words or len(words) > _MAX_DONE_WORDS or "?" in folded:
        return False
    return any(w in _DONE_WORDS for w in words) and all(
        w in _DONE_WORDS or w in _AROUND_DONE for w in words
    )


#: A person word, with a possessive ("petugasnya", "agene") as residents write it.
_PERSON = (
    r"(?:(?:orang|manusia|petugas|agen|perisai|cs|customer\s*service|admin|operator)"
    r"(?:nya|ne|e)?)"
)
_CONTACT = (
    r"(?:bicara|berbicara|ngobrol|ngomong|omong|chat|(?:di)?sambung\w*|(?:di)?hubung\w*|ketemu|"
    r"bertemu|dibantu|tanya|telpon|telepon|telp|nelpon|ditelpon|ditelepon|video\s*call|vc)"
)
_WANTS_PERSON = re.compile(
    rf"\b{_CONTACT}\b.{{0,30}}\b{_PERSON}\b|\b{_PERSON}\b.{{0,15}}\b(?:asli|langsung|beneran|benaran|sungguhan|nyata)\b|"
    r"\b(?:customer\s*service|cs)\b\s*(?:dong|donk|ya|please)?\s*$"
)
OFFER_PAYLOAD = "/ask_human"


def wants_a_person(text: str) -> bool:
    """An explicit request to talk to a person ("mau ngobrol sama petugas", "hubungkan ke
    cs", the offer's button), as opposed to a question about agents or offices ("apa itu
    perisai", "kantor bpjs terdekat di mana"), which the bot answers itself."""
    if (text or "").strip().startswith(OFFER_PAYLOAD):
        return True
    return bool(_WANTS_PERSON.search(fold(text or "")))
