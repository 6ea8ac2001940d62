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

	"audit.title":    "Audit trail",
	"audit.ok":       "The chain of all %d entries verifies.",
	"audit.broken":   "The audit trail is BROKEN at entry %d: %s. Entries from there on cannot be trusted: tell the Kanwil.",
	"audit.when":     "When (UTC)",
	"audit.who":      "Who",
	"audit.via":      "Via",
	"audit.action":   "Action",
	"audit.facility": "Facility",
	"audit.target":   "What",
	"audit.before":   "Before",
	"audit.after":    "After",
	"audit.older":    "Older entries",
	"audit.none":     "No entries.",

	"err.title":          "Not done",
	"err.forbidden":      "Your account may not do this here.",
	"err.csrf":           "This form is stale or did not come from the console: reload the page and try again.",
	"err.signed_out":     "You are not logged in (or your session ended): log in again.",
	"err.form":           "The form could not be read.",
	"err.internal":       "Something went wrong at the gateway; it is logged. Try again, or tell the administrator.",
	"err.account":        "The account was not added: %s.",
	"err.account_exists": "An account %s exists already.",
	"err.no_account":     "There is no account %s.",
	"err.disable_self":   "You cannot disable your own account.",
	"err.back":           "Back",
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

	"audit.title":    "Jejak audit",
	"audit.ok":       "Rantai seluruh %d entri terverifikasi.",
	"audit.broken":   "Jejak audit RUSAK pada entri %d: %s. Entri sejak itu tidak dapat dipercaya: laporkan ke Kanwil.",
	"audit.when":     "Waktu (UTC)",
	"audit.who":      "Siapa",
	"audit.via":      "Melalui",
	"audit.action":   "Tindakan",
	"audit.facility": "Lapas/Rutan",
	"audit.target":   "Apa",
	"audit.before":   "Sebelum",
	"audit.after":    "Sesudah",
	"audit.older":    "Entri lebih lama",
	"audit.none":     "Tidak ada entri.",

	"err.title":          "Tidak dilakukan",
	"err.forbidden":      "Akun Anda tidak boleh melakukan ini di sini.",
	"err.csrf":           "Formulir ini kedaluwarsa atau tidak berasal dari konsol: muat ulang halaman lalu coba lagi.",
	"err.signed_out":     "Anda belum masuk (atau sesi Anda berakhir): masuk lagi.",
	"err.form":           "Formulir tidak dapat dibaca.",
	"err.internal":       "Terjadi kesalahan di gateway; sudah dicatat. Coba lagi, atau beri tahu administrator.",
	"err.account":        "Akun tidak ditambahkan: %s.",
	"err.account_exists": "Akun %s sudah ada.",
	"err.no_account":     "Tidak ada akun %s.",
	"err.disable_self":   "Anda tidak dapat menonaktifkan akun Anda sendiri.",
	"err.back":           "Kembali",
}
