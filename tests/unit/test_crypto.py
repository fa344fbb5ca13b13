import pytest
from cryptography.fernet import Fernet

from bot.infra.crypto import PiiCipher


def test_round_trip_and_ciphertext_hides_the_value() -> None:
    cipher = PiiCipher(Fernet.generate_key().decode())
    token = cipher.encrypt("3571021708800001")
    assert "3571021708800001" not in token
    assert cipher.decrypt(token) == "3571021708800001"


def test_rotation_new_key_first_old_key_still_decrypts() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = PiiCipher(old).encrypt("Siti")
    assert PiiCipher(f"{new},{old}").decrypt(token) == "Siti"
    with pytest.raises(ValueError, match="SADAR_PII_ENCRYPTION_KEYS"):
        PiiCipher(new).decrypt(token)
