"""What an enrolled agent's message asks for, where the classifier can confuse two of the
agent's commands (issue 28): "warga saya" (the residents the agent registered) shares its
words with "daftarkan warga saya" (register a walk-in). A list asked for is read from the
words' order, which a bag of words does not see. Pure, like the other readers here."""

from __future__ import annotations

import re

from nlu.parsing.common import fold

_SELF = r"(?:saya|sy|aku|ku|kulo|abdi|gue|gw)"
_PEOPLE = r"(?:warga|peserta|wargi)(?:-warga|-peserta)?"
_LOOK = r"(?:lihat|liat|cek|list|daftar|tampilkan|tampilin|data|semua)"
#: "warga saya", "lihat peserta sy", "wargaku", "wargane kulo": the agent's own people.
_OWN_PEOPLE = re.compile(
    rf"^\s*(?:{_LOOK}\s+)*(?:{_PEOPLE}\s*(?:ne\s+|nya\s+)?{_SELF}|wargaku|wargane\s+kulo)"
    r"(?:\s+(?:siapa|sapa|saha)\s*(?:saja|aja|wae)?)?\s*[?.!]*\s*$"
)
#: "... yang (sudah) saya daftarkan", "sing wis tak daftarke", "nu ku abdi didaftarkeun":
#: someone already registered by the agent.
_REGISTERED_BY_ME = re.compile(
    rf"\b(?:yang|yg|sing|nu)\s+(?:sudah\s+|udah\s+|udh\s+|sdh\s+|wis\s+|wes\s+|tos\s+|pernah\s+)?"
    rf"(?:{_SELF}|tak|ku\s+abdi)\s+(?:bantu\s+)?(?:di)?(?:daftar|input|lebok)\w*"
)
#: Words that ask to register someone now, whatever else the message says.
_NEW = re.compile(r"\b(?:mau|ingin|pengen|arep|bade|hoyong|baru|datang|tolong)\b")


def asks_for_own_residents(text: str) -> bool:
    """The agent asks for the list of residents they registered ("warga saya", "warga yang
    sudah saya daftarkan"), not to register a new one ("warga saya mau daftar")."""
    folded = fold(text or "")
    if _NEW.search(folded):
        return False
    return bool(_OWN_PEOPLE.match(folded) or _REGISTERED_BY_ME.search(folded))


#: Registering someone: "daftarkan", "daftarin", "didaftarkan", "ndaftarke", "daftaraken",
#: "ngadaftarkeun", "mendaftarkan" (a bare "daftar" is the sender's own registration).
_REGISTER_SOMEONE = re.compile(
    r"\b(?:di|men|mang|nga|nge|ng|n)?da[fp]tar(?:kan|in|ke|aken|keun|kno)\b"
    r"|\b(?:bantu|tolong)\s+(?:di)?da[fp]tar\b"
)
_QUESTION = re.compile(r"\?|\b(?:bisa(?:kah)?|boleh(?:kah)?|gimana|bagaimana|caranya|apa)\b")


def asks_to_register_someone(text: str) -> bool:
    """ "tolong daftarkan bapak ini ya, namanya Parmin, NIK …": from an enrolled agent, a
    walk-in registration, whatever the classifier made of it (a resident's "daftarkan ibu
    saya" is answered as registering a family member instead). A question about it ("bisa
    daftarkan warga tanpa hp?") is answered, and a list asked for is shown."""
    folded = fold(text or "")
    if asks_for_own_residents(text) or _QUESTION.search(folded):
        return False
    return bool(_REGISTER_SOMEONE.search(folded))
