"""Writes the console's message catalogs (Indonesian and English .po) from the templates'
and pages' messages and the translations below; run it after changing a message:
    .venv/bin/python scripts/console_catalog.py
tests/console/test_i18n.py fails while a message lacks its Indonesian translation."""

from __future__ import annotations

import glob
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import write_po

ROOT = Path(__file__).resolve().parents[1]
CONSOLE = ROOT / "notifyd" / "console"
ID = {
    "Main": "Utama", "Today": "Hari ini", "Search": "Cari", "Language": "Bahasa",
    "Change": "Ganti", "Sign out": "Keluar", "Not possible": "Tidak dapat dilakukan",
    "Back to Today": "Kembali ke Hari ini", "Done:": "Selesai:", "Registry id": "ID registri",
    "Nationality": "Kewarganegaraan", "Passport": "Paspor", "Phone": "Telepon",
    "Channels": "Saluran", "default order": "urutan bawaan",
    "Staff correction in force:": "Koreksi petugas berlaku:", "Permits": "Izin tinggal",
    "Permit": "Izin", "Type": "Jenis", "Office": "Kantor", "Expires": "Berakhir",
    "Notices": "Pemberitahuan", "Notice": "Pemberitahuan", "stage": "tahap", "Due": "Jadwal",
    "Deadline": "Batas waktu", "Voice note of notice": "Pesan suara pemberitahuan",
    "Warning: this address already failed permanently. Correct the contact first, or resend "
    "anyway.": "Peringatan: alamat ini sudah gagal secara permanen. Perbaiki kontak dahulu, "
    "atau kirim ulang tetap.",
    "Resend anyway": "Tetap kirim ulang", "Resend": "Kirim ulang", "Actions": "Tindakan",
    "Opt-out reason": "Alasan berhenti berlangganan", "Opt out": "Hentikan pemberitahuan",
    "Undo opt-out": "Batalkan penghentian", "Contact": "Kontak",
    "Correct number": "Nomor yang benar", "Correct contact": "Koreksi kontak",
    "Note": "Catatan", "Add note": "Tambah catatan", "Story": "Riwayat",
    "notice": "pemberitahuan", "provider id": "id penyedia", "by": "oleh",
    "Find a person": "Cari orang",
    "Name, phone, passport, permit number or registry id":
        "Nama, telepon, paspor, nomor izin atau ID registri",
    "Results": "Hasil", "Nobody found.": "Tidak ada yang ditemukan.", "Sign in": "Masuk",
    "User name": "Nama pengguna", "Password": "Kata sandi", "Sent today": "Terkirim hari ini",
    "Channel": "Saluran", "sent": "terkirim", "delivered": "diterima", "read": "dibaca",
    "failed": "gagal", "Nothing sent yet today.": "Belum ada yang terkirim hari ini.",
    "Due in the rest of today:": "Jadwal sisa hari ini:", "Due tomorrow:": "Jadwal besok:",
    "Needs attention": "Perlu perhatian",
    "The registry sync has not run on schedule.":
        "Sinkronisasi registri tidak berjalan sesuai jadwal.",
    "Rows the last sync rejected:": "Baris yang ditolak sinkronisasi terakhir:",
    "Paused:": "Dijeda:", "Failed on every channel:": "Gagal di semua saluran:",
    "No receipt yet:": "Belum ada tanda terima:",
    "Nothing needs attention.": "Tidak ada yang perlu perhatian.",
    "Last 30 days": "30 hari terakhir",
    "No attempts in 30 days.": "Tidak ada percobaan dalam 30 hari.",
    "Your session has ended. Please sign in again.":
        "Sesi Anda telah berakhir. Silakan masuk lagi.",
    "This form has expired. Open the page again.": "Formulir ini kedaluwarsa. Buka halaman lagi.",
    "Your role does not allow this. Ask a supervisor.":
        "Peran Anda tidak mengizinkan ini. Minta bantuan supervisor.",
    "This form has expired. Please try again.": "Formulir ini kedaluwarsa. Silakan coba lagi.",
    "Too many failed sign-ins. Wait 15 minutes or ask an administrator.":
        "Terlalu banyak upaya masuk yang gagal. Tunggu 15 menit atau hubungi administrator.",
    "Wrong name or password.": "Nama atau kata sandi salah.",
    "Unknown channel.": "Saluran tidak dikenal.", "Write the note first.": "Tulis catatan dahulu.",
    "That is not a valid phone number; write it as 0812… or +62…":
        "Itu bukan nomor telepon yang sah; tulis sebagai 0812… atau +62…",
    "No such person.": "Orang tersebut tidak ada.", "No such notice.": "Pemberitahuan tidak ada.",
    "Delivery log": "Log pengiriman", "Registry": "Registri", "Since": "Sejak",
    "all": "semua", "Attempt outcome": "Hasil percobaan", "Notice status": "Status pemberitahuan",
    "Show": "Tampilkan", "Download CSV": "Unduh CSV",
    "Newest first, at most": "Terbaru dahulu, paling banyak",
    "When": "Waktu", "Name": "Nama", "Reason": "Alasan",
    "Nothing matches.": "Tidak ada yang cocok.",
    "Registry sync runs": "Sinkronisasi registri", "Run": "Proses", "Started": "Mulai",
    "Status": "Status", "Rows": "Baris", "Accepted": "Diterima", "Rejected": "Ditolak",
    "Planned": "Direncanakan", "Cancelled": "Dibatalkan", "Rejected rows": "Baris ditolak",
    "No sync yet.": "Belum ada sinkronisasi.",
    "Rows the last sync rejected": "Baris yang ditolak sinkronisasi terakhir", "Line": "Baris",
    "Reasons": "Alasan", "None.": "Tidak ada.", "Write the date as YYYY-MM-DD.":
        "Tulis tanggal sebagai YYYY-MM-DD.",
    # story events, roles and actions shown by name
    "planned": "direncanakan", "attempt": "percobaan", "receipt": "tanda terima",
    "cancelled": "dibatalkan", "superseded": "digantikan", "opted out": "berhenti berlangganan",
    "opt-out lifted": "penghentian dibatalkan", "staff": "petugas",
    "contact corrected": "kontak dikoreksi", "viewer": "pengamat", "supervisor": "supervisor",
    "admin": "admin", "resend": "kirim ulang", "opt_out": "hentikan pemberitahuan",
    "opt_out_undo": "penghentian dibatalkan", "correct": "kontak dikoreksi", "note": "catatan",
    # admin pages, the log's filters and pages, Today's failing channels, corrections export
    "Administration": "Administrasi", "Users": "Pengguna", "Pause and resume": "Jeda dan lanjutkan",
    "Pilot allowlist": "Daftar nomor uji coba", "Paused now": "Sedang dijeda",
    "all sending": "semua pengiriman", "since": "sejak",
    "Nothing is paused.": "Tidak ada yang dijeda.",
    "Pause or resume": "Jeda atau lanjutkan", "What": "Apa", "Pause": "Jeda",
    "Resume": "Lanjutkan", "Recent changes": "Perubahan terakhir", "Action": "Tindakan",
    "By": "Oleh",
    "Pilot mode is on: only these numbers receive notices.":
        "Mode uji coba aktif: hanya nomor-nomor ini yang menerima pemberitahuan.",
    "Pilot mode is off: everyone receives notices. The list applies once pilot.enabled is set "
    "in the config.": "Mode uji coba tidak aktif: semua orang menerima pemberitahuan. Daftar ini "
    "berlaku setelah pilot.enabled diatur di konfigurasi.",
    "Number": "Nomor", "Added": "Ditambahkan", "in the config file": "di berkas konfigurasi",
    "Remove": "Hapus", "Add a number": "Tambah nomor", "Phone number": "Nomor telepon",
    "Add": "Tambah", "One-time password for": "Kata sandi sekali pakai untuk",
    "It is shown only now. Give it to the user in person; they should change it.":
        "Hanya ditampilkan sekarang. Berikan langsung kepada pengguna; sebaiknya segera diganti.",
    "Role": "Peran", "Active": "Aktif", "Created": "Dibuat", "yes": "ya", "no": "tidak",
    "Disable": "Nonaktifkan", "Enable": "Aktifkan", "New password for": "Kata sandi baru untuk",
    "Add a user": "Tambah pengguna",
    "Password (leave empty to make a one-time password)":
        "Kata sandi (kosongkan untuk membuat kata sandi sekali pakai)",
    "Admin": "Admin", "From": "Dari", "Until": "Sampai", "Newest first,": "Terbaru dahulu,",
    "per page.": "per halaman.", "First page": "Halaman pertama",
    "Next page": "Halaman berikutnya", "Contacts corrected by staff": "Kontak dikoreksi petugas",
    "Corrections not yet in the registry:": "Koreksi yang belum ada di registri:",
    "Download for the registry (CSV)": "Unduh untuk registri (CSV)",
    "Channel failing:": "Saluran gagal:",
    "its last %(n)s attempts all failed": "%(n)s percobaan terakhirnya gagal semua",
    "%(bad)s of %(all)s attempts in the last hour failed":
        "%(bad)s dari %(all)s percobaan dalam satu jam terakhir gagal",
    "You cannot disable yourself; ask another admin.":
        "Anda tidak dapat menonaktifkan diri sendiri; minta admin lain.",
    "Give a reason: it is shown to everyone.": "Beri alasan: alasan ini terlihat oleh semua.",
    "Unknown action.": "Tindakan tidak dikenal.",
    "Unknown action or channel.": "Tindakan atau saluran tidak dikenal.",
    "This page link is damaged; open the log from its first page.":
        "Tautan halaman ini rusak; buka log dari halaman pertama.",
    "add": "tambah", "passwd": "kata sandi baru", "disable": "nonaktifkan",
    "enable": "aktifkan", "pause": "jeda", "resume": "lanjutkan", "remove": "hapus",
}  # fmt: skip
PYTHON_MESSAGES = re.compile(r'refuse\(request, \d+, "([^"]+)"\)|text = \(\s*"([^"]+)"')


def messages() -> list[str]:
    found: list[str] = []
    for f in sorted(glob.glob(str(CONSOLE / "templates" / "*.html"))):
        for _line, msg, _c, _ctx in extract_from_file(
            "jinja2.ext:babel_extract", f, options={"extensions": "jinja2.ext.i18n"}
        ):
            if isinstance(msg, str) and msg not in found:
                found.append(msg)
    for f in ("app.py", "pages.py", "actions.py", "admin.py", "logpages.py"):
        src = (CONSOLE / f).read_text(encoding="utf-8")
        for groups in re.findall(r'"([A-Z][^"]*[.…+]\)?)"', src):
            if groups in ID and groups not in found:
                found.append(groups)
    for extra in ID:
        if extra not in found:
            found.append(extra)
    return found


def main() -> None:
    for lang in ("id", "en"):
        catalog = Catalog(locale=lang, project="notifyd console")
        for msg in messages():
            catalog.add(msg, ID.get(msg, "") if lang == "id" else "")
        out = CONSOLE / "locale" / lang / "LC_MESSAGES" / "console.po"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as f:
            write_po(f, catalog, omit_header=False, width=100)
        print(f"wrote {out.relative_to(ROOT)}: {len(catalog)} messages")


if __name__ == "__main__":
    main()
