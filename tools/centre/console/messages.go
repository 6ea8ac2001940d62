package console

import (
	"fmt"
	"slices"
)

// Languages are the console's languages, Indonesian (the facilities')
// first: a session without a choice shows it.
var Languages = []string{"id", "en"}

// langOf is lang if the console has it, else the default.
func langOf(lang string) string {
	if slices.Contains(Languages, lang) {
		return lang
	}
	return Languages[0]
}

// translate formats the message key in lang. A key missing from a
// catalogue shows as itself (TestEveryKeyInEveryLanguage keeps that from
// happening).
func translate(lang, key string, args ...any) string {
	m, ok := catalogues[langOf(lang)][key]
	if !ok {
		m, ok = english[key]
	}
	if !ok {
		return key
	}
	if len(args) == 0 {
		return m
	}
	return fmt.Sprintf(m, args...)
}

var catalogues = map[string]map[string]string{"en": english, "id": indonesian}

// english is the reference catalogue: a key lives here first. Messages are
// fmt formats; both languages take the same arguments.
var english = map[string]string{
	"app.name":        "Wartelsuspas console",
	"lang.switch":     "Language",
	"lang.id":         "Bahasa Indonesia",
	"lang.en":         "English",
	"nav.home":        "Facilities",
	"nav.accounts":    "Accounts",
	"nav.booths":      "Booths",
	"nav.alerts":      "Alerts",
	"nav.audit":       "Audit trail",
	"nav.logout":      "Log out",
	"nav.signed_in":   "Signed in as %s (%s)",
	"role.admin":      "admin",
	"role.operator":   "operator",
	"role.supervisor": "supervisor",
	"role.auditor":    "auditor",

	"login.title":     "Log in",
	"login.name":      "Account",
	"login.password":  "Password",
	"login.code":      "Code from the authenticator app",
	"login.code_hint": "six digits; auditors without a second factor leave it empty",
	"login.submit":    "Log in",
	"login.failed":    "The account, password or code is wrong.",
	"login.throttled": "Too many failed logins: wait %d minutes and try again, or ask the Kanwil's admin.",

	"home.title":   "Facilities",
	"home.none":    "No facility yet: enrol a booth or import a roster (wartel-gateway enroll, roster import).",
	"home.explain": "Choose a facility.",

	"accounts.title":      "Accounts",
	"accounts.name":       "Account",
	"accounts.role":       "Role",
	"accounts.facilities": "Facilities",
	"accounts.totp":       "Second factor",
	"accounts.status":     "Status",
	"accounts.active":     "active",
	"accounts.disabled":   "disabled",
	"accounts.add":        "Add an account",
	"accounts.add_hint":   "Facilities: one for an operator or supervisor, one or more (comma-separated) for an auditor, none for an admin.",
	"accounts.disable":    "Disable",
	"accounts.enable":     "Enable",
	"accounts.reset_totp": "New second factor",
	"accounts.new":        "Give these to %s in person; they are shown only now.",
	"accounts.password":   "Password",
	"accounts.secret":     "Authenticator secret",
	"accounts.url":        "Authenticator link",
	"yes":                 "yes",
	"no":                  "no",

	"err.title":              "Not done",
	"err.forbidden":          "Your account may not do this here.",
	"err.csrf":               "This form is stale or did not come from the console: reload the page and try again.",
	"err.signed_out":         "You are not logged in (or your session ended): log in again.",
	"err.form":               "The form could not be read.",
	"err.internal":           "Something went wrong at the gateway; it is logged. Try again, or tell the administrator.",
	"err.account":            "The account was not added: %s.",
	"err.account_exists":     "An account %s exists already.",
	"err.no_account":         "There is no account %s.",
	"err.disable_self":       "You cannot disable your own account.",
	"err.back":               "Back",
	"nav.reports":            "Reports",
	"reports.title":          "Report of %s, %s",
	"reports.month":          "Month",
	"reports.show":           "Show",
	"reports.download":       "Download CSV",
	"reports.csv.inmates":    "per inmate",
	"reports.csv.days":       "per day",
	"reports.csv.officers":   "per officer",
	"reports.bad_month":      "%q is not a month: write it as YYYY-MM, e.g. 2026-11.",
	"reports.no_such_csv":    "There is no report %q: per inmate, per day or per officer.",
	"reports.officers_hint":  "An outlier is a reason to look, not proof: read it beside the distinct inmates and the credits withheld (docs/console.md, Reports).",
	"reports.inmates":        "Per inmate",
	"reports.col.inmate":     "Inmate",
	"reports.col.calls":      "Calls",
	"reports.col.talked":     "Minutes talked",
	"reports.col.charged":    "Minutes charged",
	"reports.col.denials":    "Denials",
	"reports.col.actions":    "Officer actions",
	"reports.col.credit":     "Minutes credited",
	"nav.inmates":            "Inmates and cards",
	"inmates.title":          "Inmates and cards of %s",
	"inmates.search":         "Search (id, name, card, block)",
	"inmates.find":           "Find",
	"inmates.period":         "Balances of this period, %s, as the gateway counts them (every booth).",
	"inmates.no_policy":      "The facility has no policy yet: no period, no balance (set the policy first).",
	"inmates.person":         "Id",
	"inmates.name":           "Name",
	"inmates.role":           "Role",
	"inmates.role.inmate":    "inmate",
	"inmates.role.officer":   "officer",
	"inmates.block":          "Block",
	"inmates.card":           "Card",
	"inmates.state":          "State",
	"inmates.blocked":        "blocked",
	"inmates.active":         "active",
	"inmates.allowance":      "Allowance (min)",
	"inmates.used":           "Used (min)",
	"inmates.credit":         "Credited (min)",
	"inmates.left":           "Left (min)",
	"inmates.block_card":     "Block",
	"inmates.unblock":        "Unblock",
	"inmates.more":           "%d more cards match: narrow the search.",
	"inmates.no_card":        "There is no card %q in this facility's roster.",
	"inmates.import":         "Import a roster",
	"inmates.import_csv":     "Roster CSV (paste the file)",
	"inmates.preview":        "Preview",
	"inmates.import_refused": "Nothing was imported. Fix these lines and preview again:",
	"inmates.line":           "line %d",
	"inmates.column":         "column %s",
	"inmates.line_col":       "Line",
	"inmates.preview_of":     "%d cards would be imported (added, or replacing the card with the same id):",
	"inmates.do_import":      "Import these %d cards",
}

var indonesian = map[string]string{
	"app.name":        "Konsol Wartelsuspas",
	"lang.switch":     "Bahasa",
	"lang.id":         "Bahasa Indonesia",
	"lang.en":         "English",
	"nav.home":        "Lapas/Rutan",
	"nav.accounts":    "Akun",
	"nav.booths":      "Bilik",
	"nav.alerts":      "Peringatan",
	"nav.audit":       "Jejak audit",
	"nav.logout":      "Keluar",
	"nav.signed_in":   "Masuk sebagai %s (%s)",
	"role.admin":      "admin",
	"role.operator":   "operator",
	"role.supervisor": "supervisor",
	"role.auditor":    "auditor",

	"login.title":     "Masuk",
	"login.name":      "Akun",
	"login.password":  "Kata sandi",
	"login.code":      "Kode dari aplikasi autentikator",
	"login.code_hint": "enam angka; auditor tanpa faktor kedua mengosongkannya",
	"login.submit":    "Masuk",
	"login.failed":    "Akun, kata sandi atau kode salah.",
	"login.throttled": "Terlalu banyak percobaan masuk yang gagal: tunggu %d menit lalu coba lagi, atau hubungi admin Kanwil.",

	"home.title":   "Lapas/Rutan",
	"home.none":    "Belum ada Lapas/Rutan: daftarkan bilik atau impor roster (wartel-gateway enroll, roster import).",
	"home.explain": "Pilih Lapas/Rutan.",

	"accounts.title":      "Akun",
	"accounts.name":       "Akun",
	"accounts.role":       "Peran",
	"accounts.facilities": "Lapas/Rutan",
	"accounts.totp":       "Faktor kedua",
	"accounts.status":     "Status",
	"accounts.active":     "aktif",
	"accounts.disabled":   "nonaktif",
	"accounts.add":        "Tambah akun",
	"accounts.add_hint":   "Lapas/Rutan: satu untuk operator atau supervisor, satu atau lebih (dipisah koma) untuk auditor, kosong untuk admin.",
	"accounts.disable":    "Nonaktifkan",
	"accounts.enable":     "Aktifkan",
	"accounts.reset_totp": "Faktor kedua baru",
	"accounts.new":        "Serahkan ini kepada %s secara langsung; hanya ditampilkan sekarang.",
	"accounts.password":   "Kata sandi",
	"accounts.secret":     "Rahasia autentikator",
	"accounts.url":        "Tautan autentikator",
	"yes":                 "ya",
	"no":                  "tidak",

	"err.title":              "Tidak dilakukan",
	"err.forbidden":          "Akun Anda tidak boleh melakukan ini di sini.",
	"err.csrf":               "Formulir ini kedaluwarsa atau tidak berasal dari konsol: muat ulang halaman lalu coba lagi.",
	"err.signed_out":         "Anda belum masuk (atau sesi Anda berakhir): masuk lagi.",
	"err.form":               "Formulir tidak dapat dibaca.",
	"err.internal":           "Terjadi kesalahan di gateway; sudah dicatat. Coba lagi, atau beri tahu administrator.",
	"err.account":            "Akun tidak ditambahkan: %s.",
	"err.account_exists":     "Akun %s sudah ada.",
	"err.no_account":         "Tidak ada akun %s.",
	"err.disable_self":       "Anda tidak dapat menonaktifkan akun Anda sendiri.",
	"err.back":               "Kembali",
	"nav.reports":            "Laporan",
	"reports.title":          "Laporan %s, %s",
	"reports.month":          "Bulan",
	"reports.show":           "Tampilkan",
	"reports.download":       "Unduh CSV",
	"reports.csv.inmates":    "per warga binaan",
	"reports.csv.days":       "per hari",
	"reports.csv.officers":   "per petugas",
	"reports.bad_month":      "%q bukan bulan: tulis sebagai YYYY-MM, mis. 2026-11.",
	"reports.no_such_csv":    "Tidak ada laporan %q: per warga binaan, per hari atau per petugas.",
	"reports.officers_hint":  "Pencilan adalah alasan untuk memeriksa, bukan bukti: baca bersama jumlah warga binaan berbeda dan kredit yang ditahan (docs/console.md, Reports).",
	"reports.inmates":        "Per warga binaan",
	"reports.col.inmate":     "Warga binaan",
	"reports.col.calls":      "Panggilan",
	"reports.col.talked":     "Menit bicara",
	"reports.col.charged":    "Menit ditagih",
	"reports.col.denials":    "Penolakan",
	"reports.col.actions":    "Tindakan petugas",
	"reports.col.credit":     "Menit dikreditkan",
	"nav.inmates":            "Warga binaan dan kartu",
	"inmates.title":          "Warga binaan dan kartu %s",
	"inmates.search":         "Cari (id, nama, kartu, blok)",
	"inmates.find":           "Cari",
	"inmates.period":         "Saldo periode ini, %s, sebagaimana dihitung gateway (semua bilik).",
	"inmates.no_policy":      "Lapas/Rutan ini belum punya aturan: tidak ada periode, tidak ada saldo (atur aturan dahulu).",
	"inmates.person":         "Id",
	"inmates.name":           "Nama",
	"inmates.role":           "Peran",
	"inmates.role.inmate":    "warga binaan",
	"inmates.role.officer":   "petugas",
	"inmates.block":          "Blok",
	"inmates.card":           "Kartu",
	"inmates.state":          "Status",
	"inmates.blocked":        "diblokir",
	"inmates.active":         "aktif",
	"inmates.allowance":      "Jatah (menit)",
	"inmates.used":           "Terpakai (menit)",
	"inmates.credit":         "Dikreditkan (menit)",
	"inmates.left":           "Sisa (menit)",
	"inmates.block_card":     "Blokir",
	"inmates.unblock":        "Buka blokir",
	"inmates.more":           "%d kartu lain cocok: persempit pencarian.",
	"inmates.no_card":        "Tidak ada kartu %q di roster Lapas/Rutan ini.",
	"inmates.import":         "Impor roster",
	"inmates.import_csv":     "CSV roster (tempel isi berkas)",
	"inmates.preview":        "Pratinjau",
	"inmates.import_refused": "Tidak ada yang diimpor. Perbaiki baris-baris ini lalu pratinjau lagi:",
	"inmates.line":           "baris %d",
	"inmates.column":         "kolom %s",
	"inmates.line_col":       "Baris",
	"inmates.preview_of":     "%d kartu akan diimpor (ditambahkan, atau mengganti kartu dengan id yang sama):",
	"inmates.do_import":      "Impor %d kartu ini",
}
