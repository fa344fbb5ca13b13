"""A registration reaches BPJS Ketenagakerjaan by the branch batch file (issue 29), through
the real stack: a resident registers on WhatsApp and is told their data goes to BPJS; the
operator exports the batch; the branch's answer file brings the KPJ number back; the
resident gets it on WhatsApp once (a re-import sends nothing), and "cek status" and "nomor
KPJ saya berapa?" answer from the record."""

from __future__ import annotations

import csv
import subprocess
import sys
import uuid
from pathlib import Path

from openpyxl import load_workbook

from bot.infra.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack

KPJ = "26012345678"


def _sadar(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env=stack.environ, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip


def _register_on_whatsapp(stack: Stack, number: str, nik: str) -> str:
    stack.whatsapp(number, "daftar")
    stack.whatsapp(number, "ya")
    stack.whatsapp(number, f"nama Sri Wahyuni NIK {nik} lahir 17-08-1980 petani 1 juta")
    stack.whatsapp(number, "karanglo")
    stack.whatsapp(number, "tidak")
    replies = stack.whatsapp(number, "ya")
    done = next(r for r in replies if "Nomor pendaftaran Sadar" in r)
    return done


def _export(stack: Stack, batch: Path) -> None:
    """The operator exports Karanglo's pending registrations."""
    exported = _sadar(
        stack, "submissions", "export", "--regency", "Tuban", "--village", "Karanglo",
        "--output", str(batch),
    )  # fmt: skip
    assert exported.returncode == 0, exported.stderr[-2000:]


def _write_answer(answer: Path, row: list[str]) -> None:
    """The branch's answer file with one row: reference, kpj, payment_code, reason_code,
    reason."""
    with answer.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["reference", "kpj", "payment_code", "reason_code", "reason"])
        writer.writerow(row)


def test_from_daftar_to_the_kpj_number_in_the_residents_chat(stack: Stack, tmp_path: Path) -> None:
    number = f"+62812{uuid.uuid4().int % 10**8:08d}"
    nik = f"352316170880{uuid.uuid4().int % 9000 + 1000:04d}"
    done = _register_on_whatsapp(stack, number, nik)
    assert "Data Anda kami kirim ke BPJS Ketenagakerjaan" in done
    assert "Nomor KPJ akan dikirim di chat ini" in done
    reference = done.split("Anda: ")[1].split(" ")[0]
    waiting = stack.whatsapp(number, "nomor kpj saya berapa?")[-1]
    assert reference in waiting and "menunggu dikirim ke BPJS Ketenagakerjaan" in waiting

    batch = tmp_path / "batch.xlsx"
    _export(stack, batch)
    rows = list(load_workbook(batch, read_only=True)["Pendaftaran"].values)
    mine = [row for row in rows if row[0] == reference]
    assert len(mine) == 1 and mine[0][1] == nik and mine[0][2] == "Sri Wahyuni"
    status = stack.whatsapp(number, "cek status")[-1]
    assert "sudah dikirim ke BPJS Ketenagakerjaan, menunggu jawaban (sejak " in status

    answer = tmp_path / "jawaban.csv"
    _write_answer(answer, [reference, KPJ, "889012345678", "", ""])
    before = len(stack.twilio.bodies(number))
    imported = _sadar(stack, "submissions", "import", str(answer))
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert "1 accepted" in imported.stdout and "KPJ messages sent: 1" in imported.stdout
    told = stack.twilio.bodies(number)[before:]
    assert len(told) == 1
    assert f"Nomor KPJ Anda: {KPJ}" in told[0] and "kode bayar 889012345678" in told[0]

    again = _sadar(stack, "submissions", "import", str(answer))
    assert again.returncode == 0 and "1 already recorded" in again.stdout
    assert len(stack.twilio.bodies(number)) == before + 1  # never a second KPJ message

    status = stack.whatsapp(number, "cek status")[-1]
    assert f"diterima, nomor KPJ {KPJ}" in status
    kpj_answer = stack.whatsapp(number, "kpj ku brp ya")[-1]
    assert f"Nomor KPJ Anda: {KPJ}" in kpj_answer and "889012345678" in kpj_answer
    assert nik not in status and nik not in kpj_answer

    # Erased after the hand-over: the resident is told what Sadar does and what BPJS keeps;
    # the branch gets the withdrawal, then nothing in Sadar names the registration.
    asked = stack.whatsapp(number, "hapus data saya")[-1]
    assert "sudah dikirim ke BPJS Ketenagakerjaan" in asked and "175" in asked
    erased = stack.whatsapp(number, "ya")[-1]
    assert "menarik pendaftaran" in erased
    withdrawals = tmp_path / "penarikan.csv"
    listed = _sadar(
        stack, "submissions", "withdrawals", "--regency", "Tuban", "--output", str(withdrawals)
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert reference in withdrawals.read_text(encoding="utf-8")
    assert stack.whatsapp(number, "cek status")[-1].startswith("Belum ada pendaftaran")


def test_a_bad_answer_file_changes_nothing_and_names_the_rows(stack: Stack, tmp_path: Path) -> None:
    answer = tmp_path / "jawaban.csv"
    answer.write_text("reference,kpj\nSDR-XXXX,123\n", encoding="utf-8")
    result = _sadar(stack, "submissions", "import", str(answer))
    assert result.returncode == 1
    assert "row 2:" in result.stderr and "nothing was imported" in result.stderr


def test_a_name_refused_by_bpjs_is_corrected_in_chat_and_accepted(
    stack: Stack, tmp_path: Path
) -> None:
    number = f"+62812{uuid.uuid4().int % 10**8:08d}"
    nik = f"352316170880{uuid.uuid4().int % 9000 + 1000:04d}"
    done = _register_on_whatsapp(stack, number, nik)
    reference = done.split("Anda: ")[1].split(" ")[0]
    first = tmp_path / "batch1.xlsx"
    _export(stack, first)
    refused = tmp_path / "jawaban1.csv"
    _write_answer(refused, [reference, "", "", "identity_mismatch", "nama beda dengan Dukcapil"])
    before = len(stack.twilio.bodies(number))
    imported = _sadar(stack, "submissions", "import", str(refused))
    assert imported.returncode == 0 and "refusals told: 1" in imported.stdout, imported.stdout
    (pushed,) = stack.twilio.bodies(number)[before:]  # told without asking, once
    assert reference in pushed and "berbeda dengan data kependudukan" in pushed
    assert "nama beda dengan Dukcapil" not in pushed  # the branch's remark is for operators
    status = stack.whatsapp(number, "cek status")[-1]
    assert "berbeda dengan data kependudukan" in status and "perbaiki data" in status

    opened = stack.whatsapp(number, "perbaiki data")
    assert any(f"belum menerima pendaftaran {reference}" in r for r in opened)
    assert "Sri Wahyuni" in opened[-1]  # the stored answers, shown again to correct
    fixed = stack.whatsapp(number, "namanya Sri Wahyuningsih")
    assert any("Nama diperbaiki: Sri Wahyuningsih" in r for r in fixed), fixed
    saved = stack.whatsapp(number, "ya")[-1]
    assert f"Pendaftaran {reference} dikirim lagi ke BPJS Ketenagakerjaan" in saved
    assert "menunggu dikirim" in stack.whatsapp(number, "cek status")[-1]

    second = tmp_path / "batch2.xlsx"
    _export(stack, second)
    rows = list(load_workbook(second, read_only=True)["Pendaftaran"].values)
    (mine,) = [row for row in rows if row[0] == reference]
    assert (mine[1], mine[2]) == (nik, "Sri Wahyuningsih")  # same NIK, same reference
    accepted = tmp_path / "jawaban2.csv"
    _write_answer(accepted, [reference, KPJ, "", "", ""])
    before = len(stack.twilio.bodies(number))
    imported = _sadar(stack, "submissions", "import", str(accepted))
    assert imported.returncode == 0 and "KPJ messages sent: 1" in imported.stdout
    (told,) = stack.twilio.bodies(number)[before:]
    assert f"Nomor KPJ Anda: {KPJ}" in told
    again = stack.whatsapp(number, "perbaiki data")[-1]
    assert "tidak bisa diubah di chat" in again  # BPJS holds it now


def test_a_resident_already_a_participant_is_told_how_to_go_on_paying(
    stack: Stack, tmp_path: Path
) -> None:
    """No second membership: the resident hears it without asking, "cek status" and the KPJ
    question say the same, and nothing invites them to correct or register again."""
    number = f"+62812{uuid.uuid4().int % 10**8:08d}"
    nik = f"352316170880{uuid.uuid4().int % 9000 + 1000:04d}"
    done = _register_on_whatsapp(stack, number, nik)
    reference = done.split("Anda: ")[1].split(" ")[0]
    batch = tmp_path / "batch.xlsx"
    _export(stack, batch)
    answer = tmp_path / "jawaban.csv"
    _write_answer(answer, [reference, "", "", "already participant", "KPJ lama 23019876543"])
    before = len(stack.twilio.bodies(number))
    imported = _sadar(stack, "submissions", "import", str(answer))
    assert imported.returncode == 0 and "1 rejected" in imported.stdout, imported.stderr
    (pushed,) = stack.twilio.bodies(number)[before:]
    assert "sudah terdaftar sebagai peserta" in pushed and "tidak ada kepesertaan kedua" in pushed
    assert "23019876543" not in pushed

    again = _sadar(stack, "submissions", "import", str(answer))
    assert again.returncode == 0 and "1 already recorded" in again.stdout
    assert len(stack.twilio.bodies(number)) == before + 1  # told once
    status = stack.whatsapp(number, "cek status")[-1]
    assert "sudah terdaftar sebagai peserta" in status and "NIK atau nomor KPJ lama" in status
    correcting = stack.whatsapp(number, "perbaiki data")
    assert "tidak ada kepesertaan kedua" in correcting[-1]  # nothing to correct: BPJS knows them
    assert not any("Mohon periksa data Anda" in reply for reply in correcting)
