"""User-facing Indonesian text that does not come from Rasa.

Conversation replies live in domain.yml; this catalogue holds only what the gateway and
channels must say when Rasa cannot answer (outage, unusable input)."""

from __future__ import annotations

RASA_UNAVAILABLE = (
    "Maaf, layanan Sadar sedang sibuk. Pesan Anda belum terproses; "
    "silakan kirim lagi beberapa menit lagi."
)
EMPTY_MESSAGE = 'Pesannya kosong. Silakan ketik pertanyaan Anda, misalnya "mau daftar".'
MESSAGE_TOO_LONG = (
    "Pesan Anda terlalu panjang untuk kami baca (lebih dari {limit} huruf). "
    "Mohon kirim lebih singkat, satu pertanyaan per pesan."
)
STILL_PROCESSING = "Pesan Anda sebelumnya masih kami proses. Mohon tunggu sebentar."
NON_TEXT_MESSAGE = (
    "Maaf, saya baru bisa membaca pesan teks. Stiker, foto, dan pesan suara belum bisa saya "
    "proses. Silakan ketik pesan Anda."
)
NOT_OWN_CONTACT = (
    "Mohon bagikan nomor HP Anda sendiri, atau ketik nomornya, contoh: 0812 3456 7890."
)
LOCATION_MESSAGE = (
    "Terima kasih, lokasinya sudah kami terima, tetapi belum bisa kami proses. "
    "Silakan ketik nama desa/kelurahan Anda."
)
