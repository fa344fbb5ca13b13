"""User-facing Indonesian text that does not come from Rasa.

Conversation replies live in domain.yml; this catalogue holds only what the gateway and
channels must say when Rasa cannot answer (outage, unusable input)."""

from __future__ import annotations

RASA_UNAVAILABLE = (
    "Maaf, layanan Sadar sedang sibuk. Pesan Anda belum terproses; "
    "silakan kirim lagi beberapa menit lagi."
)
#: Rasa answered nothing (e.g. the action server was restarting): never leave silence.
NO_REPLY = (
    "Maaf, ada gangguan sebentar dan pesan Anda belum terproses. "
    "Silakan kirim lagi pesan yang sama."
)
EMPTY_MESSAGE = 'Pesannya kosong. Silakan ketik pertanyaan Anda, misalnya "mau daftar".'
MESSAGE_TOO_LONG = (
    "Pesan Anda terlalu panjang untuk kami baca (lebih dari {limit} huruf). "
    "Mohon kirim lebih singkat, satu pertanyaan per pesan."
)
TOO_MANY_MESSAGES = (
    "Pesan Anda terlalu cepat berturut-turut. Mohon tunggu sebentar, lalu kirim lagi."
)
#: A burst: the web chat turn was not admitted in time (503 + Retry-After; the page retries).
BUSY = "Sadar sedang ramai. Pesan Anda akan dikirim ulang otomatis sebentar lagi."
#: A burst: a WhatsApp/Telegram message waits its turn (it is never dropped); said once.
RECEIVED_PLEASE_WAIT = "Pesan Anda sudah kami terima, mohon tunggu sebentar. Sadar sedang ramai."
STILL_PROCESSING = "Pesan Anda sebelumnya masih kami proses. Mohon tunggu sebentar."
NON_TEXT_MESSAGE = (
    "Maaf, saya baru bisa membaca pesan teks. Stiker, foto, dan pesan suara belum bisa saya "
    "proses. Silakan ketik pesan Anda."
)
#: A photo while the resident talks with a person: it cannot be passed on.
PHOTO_DURING_HANDOFF = (
    "Maaf, foto belum bisa kami teruskan ke petugas. Silakan ketik pesan Anda; "
    "data KTP bisa diketik juga."
)
NOT_OWN_CONTACT = (
    "Mohon bagikan nomor HP Anda sendiri, atau ketik nomornya, contoh: 0812 3456 7890."
)
LOCATION_MESSAGE = (
    "Terima kasih, lokasinya sudah kami terima, tetapi belum bisa kami proses. "
    "Silakan ketik nama desa/kelurahan Anda."
)

# Monthly reminders (bot/services/reminders.py). {amount}: what is owed now, {months}: the
# months it covers, {due_date}: the due date of the month the reminder is about.
HOW_TO_PAY = (
    "Bayar di bank, Indomaret, Alfamart, Kantor Pos, e-wallet, atau agen Perisai "
    "dengan menyebut NIK Anda."
)
#: The registry accepted a registration (issue 29): told once, where reminders go.
KPJ_ACCEPTED = (
    "Kabar baik: pendaftaran BPJS Ketenagakerjaan Anda ({reference}) sudah diterima.\n"
    "Nomor KPJ Anda: {kpj}\n"
    "Iuran {contribution}/bulan. {how_to_pay}"
)
KPJ_HOW_TO_PAY_WITH_CODE = (
    "Bayar dengan kode bayar {payment_code} di bank, Indomaret, Alfamart, Kantor Pos, "
    "e-wallet, atau agen Perisai."
)
#: The template's first variable outside WhatsApp's 24-hour window (what was recorded).
KPJ_ACCEPTED_RECORDED = "pendaftaran BPJS Ketenagakerjaan diterima, nomor KPJ {kpj}"
#: Who the notice of the registry's answer is from (the template's second variable).
NOTICE_FROM_REGISTRY = "BPJS Ketenagakerjaan"
#: The registry refused a registration: told once per refusal, where reminders go.
#: {reason}: REJECTION_FOR_RESIDENT of its code.
KPJ_REJECTED = (
    "Kabar dari BPJS Ketenagakerjaan tentang pendaftaran Anda ({reference}): {reason}\n"
    'Ketik "cek status" kapan saja untuk melihat tahapnya.'
)
#: The template's first variable outside WhatsApp's 24-hour window.
KPJ_REJECTED_RECORDED = 'pendaftaran BPJS Ketenagakerjaan belum diterima, ketik "cek status"'
#: The walk-in's agent hears of it too, to fix it with the resident.
KPJ_REJECTED_FOR_AGENT = (
    "Pendaftaran {name} ({reference}, desa {village}) ditolak BPJS Ketenagakerjaan: "
    '{reason}. Ketik "lihat warga saya" untuk melihat semua.'
)

# Why BPJS Ketenagakerjaan refused a registration (issue 29), per reason code of
# bot/domain/data/registry.toml. One place for the chat ("cek status", the KPJ answer) and
# the notices the worker pushes, so both say the same.
#: In words a resident can act on.
REJECTION_FOR_RESIDENT: dict[str, str] = {
    "nik_not_found": (
        "NIK Anda tidak ditemukan di data kependudukan. Periksa lagi NIK di KTP. Jika tadi "
        'salah ketik, ketik "hapus data saya", lalu "daftar" lagi dengan NIK yang benar.'
    ),
    "identity_mismatch": (
        "nama atau tanggal lahir berbeda dengan data kependudukan (Dukcapil). Ketik "
        '"perbaiki data" dan tulis persis seperti di KTP; pendaftaran lalu dikirim lagi.'
    ),
    "incomplete_data": (
        'datanya belum lengkap. Ketik "perbaiki data" untuk memeriksa dan melengkapinya, '
        'atau "hubungi agen" untuk dibantu agen Perisai desa Anda.'
    ),
    "already_participant": (
        "Anda ternyata sudah terdaftar sebagai peserta BPJS Ketenagakerjaan, jadi tidak ada "
        "kepesertaan kedua. Lanjutkan membayar iuran dengan NIK atau nomor KPJ lama Anda; "
        "pengingat dari Sadar tetap berjalan."
    ),
    "over_age": (
        "usia Anda melewati batas kepesertaan. Tanyakan pilihan lain ke agen Perisai atau "
        "kantor BPJS Ketenagakerjaan."
    ),
    "other": (
        "ada hal yang perlu diperiksa. Agen Perisai desa Anda atau kantor BPJS "
        'Ketenagakerjaan akan membantu; ketik "hubungi agen".'
    ),
}
#: Short, for the agent who helps fix them.
REJECTION_FOR_AGENT: dict[str, str] = {
    "nik_not_found": "NIK tidak ada di Dukcapil, cek KTP lalu daftar ulang",
    "identity_mismatch": (
        'nama/tgl lahir beda dgn Dukcapil; warga ketik "perbaiki data", tulis sesuai KTP'
    ),
    "incomplete_data": 'data belum lengkap; warga ketik "perbaiki data", bantu melengkapi',
    "already_participant": "sudah peserta, lanjut bayar dengan NIK/KPJ lama",
    "over_age": "melewati batas usia",
    "other": "perlu dicek ke kantor cabang",
}
STOP_HINT = "Balas STOP untuk berhenti menerima pengingat."
#: {how_to_pay}: HOW_TO_PAY, or KPJ_HOW_TO_PAY_WITH_CODE when the registry gave a code.
REMINDER_TEXTS = {
    "before_due": (
        "Pengingat iuran BPJS Ketenagakerjaan: {amount} untuk {months}, "
        "paling lambat {due_date}. {how_to_pay}\n" + STOP_HINT
    ),
    "on_due": (
        "Hari ini ({due_date}) batas bayar iuran BPJS Ketenagakerjaan: {amount} untuk "
        "{months}. {how_to_pay}\n" + STOP_HINT
    ),
    "after_due": (
        "Iuran BPJS Ketenagakerjaan {months} belum tercatat ({amount}). Mohon segera bayar "
        "agar perlindungan Anda tetap aktif. {how_to_pay}\n" + STOP_HINT
    ),
    "non_active_warning": (
        "Penting: iuran {months} belum dibayar ({amount}). Setelah 3 bulan tidak membayar, "
        "kepesertaan menjadi NONAKTIF dan perlindungan berhenti sampai Anda membayar lagi. "
        "{how_to_pay}\n" + STOP_HINT
    ),
}

# The operations console (bot/gateway/admin.py).
ADMIN_WRONG_PASSWORD = "Nama pengguna atau kata sandi salah."
ADMIN_LOCKED = "Terlalu banyak percobaan yang salah. Coba lagi 15 menit lagi."
ADMIN_CLOSED = (
    "Login admin utama belum dibuka (SADAR_ADMIN_PASSWORD_HASH belum diatur, lihat "
    "docs/operations.md). Operator: isi nama pengguna."
)
ADMIN_OUTSIDE_SCOPE = "Desa ini di luar wilayah akun Anda."
ADMIN_BAD_FORM = "Formulir tidak lengkap. Kembali ke dasbor dan coba lagi."
ADMIN_ANSWER_REFUSED = "Tiket sudah ditutup atau tidak ada. Kembali ke dasbor."
ADMIN_REASSIGN_REFUSED = (
    "Tiket tidak bisa dialihkan: sudah ditutup, atau agen tidak aktif. Kembali ke dasbor."
)
ADMIN_TARGET_MET = "tercapai"
ADMIN_TARGET_NOT_MET = "belum"
#: A coverage row whose place is not in the imported village table.
ADMIN_PLACE_UNLISTED = "tidak ada di daftar desa"

# Talking to a person (bot/services/handoff_relay.py): what the gateway and the worker say
# while a ticket is open. The hand-over itself is a Rasa response (utter_handoff_*).
HANDOFF_TO_AGENT = "{ticket} · warga: {text}\nBalas: balas {ticket} <pesan>"
HANDOFF_FROM_AGENT = "{agent} (agen Perisai): {text}"
HANDOFF_FROM_ADMIN = "Petugas Sadar: {text}"
HANDOFF_SENT = "✓ Terkirim ke warga ({ticket})."
HANDOFF_REFUSED = {
    "not_yours": "{ticket} bukan tiket Anda. Pesan tidak dikirim.",
    "closed": "{ticket} sudah ditutup. Pesan tidak dikirim.",
    "unknown": "Tiket {ticket} tidak ada. Periksa nomornya.",
}
HANDOFF_BACK_TO_BOT = (
    "Percakapan dengan agen selesai. Anda kembali ke Sadar (bot): ketik pertanyaan Anda, "
    'atau "daftar".'
)
HANDOFF_CLOSED_FOR_AGENT = {
    "resident_done": "{ticket} ditutup oleh warga (selesai).",
    "no_answer": "{ticket} ditutup: belum dibalas dalam {minutes} menit. Warga sudah diberi tahu.",
    "inactive": "{ticket} ditutup karena tidak ada pesan lagi.",
}
HANDOFF_NO_ANSWER = (
    "Maaf, agen Perisai belum sempat membalas. Kantor desa buka {office_hours}; datang "
    'langsung atau ketik "minta agen" lagi nanti. Sekarang Anda kembali ke Sadar (bot).'
)
HANDOFF_INACTIVE = (
    'Percakapan dengan agen ditutup karena lama tidak ada pesan. Ketik "minta agen" '
    "kalau masih perlu bantuan."
)
HANDOFF_REASSIGNED = (
    "{ticket} sekarang untuk Anda (warga desa {village}).\nPesan terakhir:\n{context}\n"
    "Balas: balas {ticket} <pesan>"
)
HANDOFF_MOVED_AWAY = (
    "{ticket} dialihkan petugas Sadar ke {agent}. Anda tidak perlu membalasnya lagi."
)
HANDOFF_TAKEN_FROM_YOU = "{ticket} diambil alih oleh {agent}."
HANDOFF_PASSED = "{ticket} dioper ke {to}."
HANDOFF_ADMINS = "petugas Sadar (admin)"
#: To the resident when another agent (or the administrators) takes over their ticket.
HANDOFF_NOW_ANSWERING = "Mulai sekarang yang membalas Anda: {agent} (agen Perisai)."
HANDOFF_NOW_ADMINS = "Pertanyaan Anda kami teruskan ke petugas Sadar. Mohon tunggu balasannya."
#: A number a number change left answered BUKAN SAYA (bot.channels.whatsapp.not_me_handler).
NUMBER_CHANGE_REPORTED = (
    "Terima kasih, laporan Anda sudah kami catat ({ticket}). Agen desa akan menghubungi "
    "Anda di nomor ini untuk mengembalikan pendaftaran Anda."
)
NUMBER_CHANGE_REPORTED_AGENT = (
    "{ticket}: nomor lama peserta {reference} melaporkan penggantian nomor yang bukan "
    "permintaannya. Mohon hubungi warga ini. Balas: balas {ticket} <pesan>"
)
#: The web chat after "keluar": the page forgets the conversation.
WEB_SESSION_ENDED = (
    "Percakapan sudah diakhiri dan tidak tersimpan di perangkat ini. "
    'Ketik "halo" untuk mulai percakapan baru.'
)

# A NIK registered by someone else (bot/services/disputes.py): who is told of a release.
DISPUTE_RELEASED_FOR_RESIDENT = (
    "Pendaftaran Sadar {reference} dibatalkan: pemilik KTP dengan NIK tersebut datang ke agen "
    "Perisai dan menunjukkan KTP-nya. Data pendaftaran itu sudah dihapus. Bila menurut Anda "
    "ini keliru, datanglah ke kantor desa {village}."
)
DISPUTE_RELEASED_FOR_AGENT = (
    "Info: pendaftaran {reference} (desa {village}) dibatalkan karena sengketa NIK; pemilik "
    "KTP datang langsung. Tercatat di jejak audit."
)
DISPUTE_APPROVED_FOR_REQUESTER = (
    "Admin menyetujui sengketa {reference}: pendaftaran lama dibatalkan dan datanya dihapus. "
    'Sekarang daftarkan pemiliknya: ketik "daftarkan warga".'
)
DISPUTE_REFUSED_FOR_REQUESTER = (
    "Admin tidak menyetujui sengketa {reference}. Pendaftaran itu tetap ada; hubungi admin "
    "Sadar bila perlu penjelasan."
)

# A walk-in's consent code that waited for the resident to write (bot.channels.whatsapp):
# told to the agent who registered them.
CONSENT_CODE_SENT_ON_CONTACT = (
    "{name} baru saja chat Sadar: kode persetujuan sudah dikirim ke WhatsApp-nya. "
    "Pendaftaran selesai saat warga membalas kode itu."
)
CONSENT_CODE_NOT_SENT_ON_CONTACT = (
    "{name} baru saja chat Sadar, tetapi kode persetujuan tidak bisa dikirim. "
    'Daftarkan lagi dan pilih "Sudah saya bacakan".'
)

#: The registration funnel's steps (bot/domain/funnel.py Step values), in the console,
#: its CSV and `sadar report funnel`.
FUNNEL_STEP_LABELS = {
    "started": "Mulai daftar",
    "consent_asked": "Ditanya persetujuan",
    "consent_given": "Setuju",
    "ktp_photo_confirmed": "Foto KTP",
    "full_name": "Nama",
    "nik": "NIK",
    "birth_date": "Tanggal lahir",
    "phone": "Nomor HP",
    "village": "Desa",
    "district": "Kecamatan",
    "regency": "Kabupaten",
    "occupation": "Pekerjaan",
    "declared_income": "Penghasilan",
    "with_jht": "Pilihan JHT",
    "registration_confirmed": "Ringkasan",
    "resident_consent": "Kode persetujuan warga",
    "confirmed": "Terdaftar",
}
#: Where residents stopped, named by what they were asked last (bot.domain.funnel
#: where_most_gave_up).
FUNNEL_QUESTION_LABELS = {
    "started": "awal pendaftaran",
    "consent_asked": "pertanyaan persetujuan",
    "consent_given": "sesudah setuju",
    "full_name": "pertanyaan nama",
    "nik": "pertanyaan NIK",
    "birth_date": "pertanyaan tanggal lahir",
    "phone": "pertanyaan nomor HP",
    "village": "pertanyaan desa",
    "occupation": "pertanyaan pekerjaan",
    "declared_income": "pertanyaan penghasilan",
    "with_jht": "pertanyaan JHT",
    "registration_confirmed": "ringkasan (belum dikonfirmasi)",
}
FUNNEL_OUTCOME_LABELS = {
    "confirmed": "terdaftar",
    "cancelled": "dibatalkan",
    "declined": "tidak setuju",
    "not_eligible": "tidak memenuhi syarat",
    "awaiting_code": "walk-in menunggu kode warga",
    "abandoned": "berhenti (24 jam tanpa pesan)",
}
#: Channel codes (bot/domain/senders.py Channel) as the console names them.
CHANNEL_LABELS = {"wa": "WhatsApp", "tg": "Telegram", "web": "Obrolan web"}
#: bot/domain/reminders.py ReminderKind values.
REMINDER_KIND_LABELS = {
    "before_due": "Sebelum jatuh tempo",
    "on_due": "Hari jatuh tempo",
    "after_due": "Setelah jatuh tempo",
    "non_active_warning": "Peringatan akan nonaktif",
}
#: bot/services/handoff.py TicketState and ClosedBecause values, in words.
TICKET_STATE_LABELS = {
    "waiting": "menunggu agen",
    "answered": "sudah dijawab agen",
    "closed": "ditutup",
}
TICKET_CLOSED_LABELS = {
    "resident_done": "ditutup: warga selesai",
    "no_answer": "ditutup: tidak ada jawaban agen",
    "inactive": "ditutup: tidak ada kabar lagi",
}
TICKET_REASON_LABELS = {
    "asked": "warga minta bicara dengan petugas",
    "number_change_reported": "warga melapor nomornya diganti orang lain",
}
#: bot/domain/submissions.py SubmissionState values.
SUBMISSION_STATE_LABELS = {
    "pending": "menunggu dikirim",
    "submitted": "dikirim, menunggu KPJ",
    "accepted": "diterima, KPJ terbit",
    "rejected": "ditolak BPJS",
    "needs_attention": "perlu diperiksa petugas",
    "cancelled": "dibatalkan",
}
#: bot/domain/submissions.py RejectionReason values: the reason, and what to do about it.
REJECTION_LABELS = {
    "nik_not_found": "NIK tidak ditemukan di Dukcapil",
    "identity_mismatch": "nama atau tanggal lahir beda dengan Dukcapil",
    "incomplete_data": "data belum lengkap",
    "already_participant": "sudah terdaftar di BPJS Ketenagakerjaan",
    "over_age": "usia melewati batas",
    "other": "alasan lain (lihat catatan cabang)",
}
REJECTION_ACTIONS = {
    "nik_not_found": "Agen desa memeriksa KTP warga; bila NIK salah ketik, warga kirim "
    '"perbaiki data". Bila KTP benar, warga ke Disdukcapil.',
    "identity_mismatch": "Agen mencocokkan nama dan tanggal lahir dengan KTP; warga kirim "
    '"perbaiki data" di chat.',
    "incomplete_data": 'Warga melengkapi data lewat "perbaiki data"; agen bisa membantu.',
    "already_participant": "Tidak perlu daftar lagi: agen membantu warga mencari nomor KPJ "
    "lamanya di kantor cabang.",
    "over_age": "Tidak bisa didaftarkan sebagai BPU; agen menjelaskan kepada warga.",
    "other": "Baca catatan cabang (sadar submissions show) dan hubungi agen desa.",
}
PAYMENT_RECORDER_LABELS = {
    "provider": "kanal pembayaran",
    "cli": "kantor (admin)",
    "participant": "laporan warga",
}
PAYMENT_SOURCE_LABELS = {
    "agent_cash": "tunai lewat agen",
    "provider": "kanal pembayaran",
    "participant_report": "laporan warga",
}
FUNNEL_HEADER = [
    "Langkah", "Sampai di langkah", "Berhenti sebelum langkah", "% berhenti",
    "Jawab ulang", "Minta bantuan petugas",
]  # fmt: skip
FUNNEL_BREAKDOWN_HEADER = [
    "Kanal / desa", "Mulai", "Setuju", "Sampai ringkasan", "Terdaftar", "% terdaftar",
    "Dibatalkan", "Berhenti (24 jam)",
]  # fmt: skip

# The operations console's sentences (bot/gateway/admin.py adds the markup; values in
# braces are filled in there, already escaped).
CONSOLE_PERIOD = "Periode {first} sampai {last} (WIB)."
CONSOLE_SUMMARY_INTRO = "Tujuh hari terakhir ({first} sampai {last}), {scope}."
CONSOLE_REGISTERED_TITLE = "Terdaftar 7 hari terakhir"
CONSOLE_REGISTERED = "{started} mulai daftar lewat chat, {done} selesai."
CONSOLE_REGISTERED_MORE = "Lihat tahap pendaftaran"
CONSOLE_GAVE_UP_TITLE = "Warga paling banyak berhenti di"
CONSOLE_GAVE_UP = (
    "{lost} warga tidak lanjut sesudah ini ({share} dari yang ditanya). "
    "Berhenti 24 jam tanpa pesan: {abandoned}."
)
CONSOLE_NOBODY_GAVE_UP = "Belum ada yang berhenti di tengah jalan."
CONSOLE_GAVE_UP_MORE = "Rincian per langkah"
CONSOLE_REMINDERS_TITLE = "Pengingat sampai?"
CONSOLE_REMINDERS = (
    "{arrived} dari {sent} pengingat lewat WhatsApp dilaporkan sampai di HP warga; "
    "{failed} pengingat gagal (semua kanal)."
)
CONSOLE_REMINDERS_MORE = "Pengiriman per hari"
CONSOLE_WAITING_TITLE = "Menunggu nomor KPJ"
CONSOLE_WAITING = "Terlama menunggu sejak {oldest}. Ditolak BPJS: {rejected}."
CONSOLE_WAITING_MORE = "Siapa saja yang menunggu"
CONSOLE_FUNNEL_SCOPED = (
    "Pendaftaran masuk wilayah Anda setelah warga menjawab pertanyaan desa; yang berhenti "
    "sebelum itu hanya terlihat oleh admin."
)
CONSOLE_FUNNEL_ONE_VILLAGE = "Hanya desa {village} ({all_villages})."
CONSOLE_FUNNEL_ALL_VILLAGES = "semua desa"
CONSOLE_FUNNEL_TOTALS = (
    "Mulai daftar: {started}; masih berjalan: {in_progress}; {outcomes}. "
    "Waktu tengah (median) sampai terdaftar: {median}."
)
CONSOLE_FUNNEL_NONE_DONE = "belum ada yang selesai"
CONSOLE_FUNNEL_TRIES = (
    "Paling sering jawab ulang: {retried}. Paling sering minta bantuan petugas: {helped}."
)
CONSOLE_DELIVERY_SCOPED = (
    "Pesan dihitung untuk wilayah ini bila alamatnya milik peserta wilayah ini; pesan ke "
    "warga yang belum terdaftar hanya terlihat oleh admin."
)
CONSOLE_REGISTRY_INTRO = (
    "Menunggu paling lama sejak {oldest}. Penarikan yang belum dikirim ke cabang: {due}."
)
CONSOLE_REGISTRY_GUIDANCE = "Tindak lanjut per alasan penolakan"
CONSOLE_COVERAGE_INTRO = "Per {today}. Target rumah tangga: {target}; perangkat desa semua ikut."
CONSOLE_COVERAGE_UNLISTED = (
    "{count} baris dengan nama tempat yang tidak ada di daftar desa: periksa bersama agen "
    'desa; warga bisa membetulkannya dengan mengirim "perbaiki data" di chat selama belum '
    "diterima BPJS."
)
CONSOLE_COVERAGE_MONTHLY = "Pendaftaran dan pembayaran per bulan"
CONSOLE_TICKETS_INTRO = (
    "Menunggu: sejak warga minta bicara sampai balasan pertama (atau sampai ditutup). "
    "Yang masih terbuka di atas, terlama dulu."
)
CONSOLE_PAYMENTS_INTRO = (
    "Uang tunai per desa (dari agen dan kantor): CSV kas per kuitansi untuk Wadah desa "
    "mencocokkan kas."
)
