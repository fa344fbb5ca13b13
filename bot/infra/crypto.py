"""Encryption of personal data at rest (UU PDP 27/2022): Fernet (AES-128-CBC + HMAC),
with key rotation through a comma-separated key list."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class PiiCipher:
    def __init__(self, keys: str):
        fernets = [Fernet(key.strip()) for key in keys.split(",") if key.strip()]
        if not fernets:
            raise ValueError("no encryption key given (SADAR_PII_ENCRYPTION_KEYS)")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise ValueError(
                "cannot decrypt personal data: SADAR_PII_ENCRYPTION_KEYS lacks the key it was "
                "encrypted with"
            ) from error
