package main

import (
	"fmt"
	"os"
	"strings"
)

// catalogue holds the console's messages per language, as fmt formats.
// Record fields, reasons and signal names stay in English in both: they
// are what the logs, the records and docs/lamps.md use.
var catalogue = map[string]map[string]string{
	"en": {
		"start":        "simbooth: a simulated booth; type help for commands",
		"roster":       "demo roster (tap NAME or tap CARD):",
		"roster.entry": "  %-5s %s  %-7s %-22s block %-1s %s",
		"blocked":      "BLOCKED",
		"state":        "state:  %s (booth.db, booth.log)",
		"reader":       "reader: %s emulated on %s (pty %s)",
		"gpio":         "gpio:   %s (watch cat %s/*)",
		"rules":        "rules:  allowance %s a day, up to %s a call, billed per %s, warnings 60s and 10s before the cut-off",
		"ready":        "booth ready",
		"card.present": "reader: card %s on the reader",
		"card.removed": "reader: card %s taken away",
		"reader.down":  "reader: DOWN: %v",
		"reader.up":    "reader: up",
		"relay.on":     "relay: ON (handset connected)",
		"relay.off":    "relay: off",
		"lamps":        "lamps: %s",
		"warn.minute":  "warning: one minute left",
		"warn.final":   "warning: ten seconds left",
		"hook.off":     "handset lifted",
		"hook.on":      "handset hung up",
		"tamper.open":  "panel OPENED",
		"tamper.close": "panel closed",
		"relay.fault":  "relay FAULT: %v",
		"granted":      "call %d granted to %s, inmate %s: up to %s, ends by %s",
		"ended":        "call %d ended: %s, talked %s, charged %s",
		"denied":       "denied %s: %s",
		"officer":      "officer %s: %s%s",
		"officer.on":   " for %s, remaining %s -> %s",
		"event":        "booth event: %s %s",
		"cleared":      "booth driver faults cleared",
		"status":       "status: %s%s, calls %d, denials %d, officer actions %d, outbox %d records, head seq %d",
		"status.call":  " (card %s, %s left)",
		"status.oos":   " out of service: %s",
		"records.none": "outbox empty",
		"hold":         "holding %s on the reader for %s",
		"stopping":     "stopping: ending any call, relay off",
		"stopped":      "stopped",
		"error":        "error: %v",
		"help": `commands:
  tap NAME|CARD        tap a card (e.g. tap budi, tap em:DEADBEEF01)
  hold NAME|CARD 2s    hold a card on the reader
  lift | hang          lift the handset / hang it up
  tamper open|close    open / close the booth's panel
  unplug | replug      pull out / put back the reader's cable
  status               the booth's state and outbox
  records [N]          the last N records of the outbox (default 10)
  help | quit`,
	},
	"id": {
		"start":        "simbooth: kamar bicara simulasi; ketik help untuk perintah",
		"roster":       "daftar kartu demo (tap NAMA atau tap KARTU):",
		"roster.entry": "  %-5s %s  %-7s %-22s blok %-1s %s",
		"blocked":      "DIBLOKIR",
		"state":        "data:   %s (booth.db, booth.log)",
		"reader":       "pembaca: %s diemulasikan di %s (pty %s)",
		"gpio":         "gpio:   %s (watch cat %s/*)",
		"rules":        "aturan: jatah %s per hari, paling lama %s per panggilan, tarif per %s, peringatan 60 dtk dan 10 dtk sebelum diputus",
		"ready":        "kamar bicara siap",
		"card.present": "pembaca: kartu %s ditempelkan",
		"card.removed": "pembaca: kartu %s diangkat",
		"reader.down":  "pembaca: MATI: %v",
		"reader.up":    "pembaca: hidup",
		"relay.on":     "relai: NYALA (gagang tersambung)",
		"relay.off":    "relai: mati",
		"lamps":        "lampu: %s",
		"warn.minute":  "peringatan: sisa satu menit",
		"warn.final":   "peringatan: sisa sepuluh detik",
		"hook.off":     "gagang diangkat",
		"hook.on":      "gagang ditutup",
		"tamper.open":  "panel DIBUKA",
		"tamper.close": "panel ditutup",
		"relay.fault":  "relai RUSAK: %v",
		"granted":      "panggilan %d diizinkan untuk %s, WBP %s: paling lama %s, berakhir karena %s",
		"ended":        "panggilan %d selesai: %s, bicara %s, ditagih %s",
		"denied":       "ditolak %s: %s",
		"officer":      "petugas %s: %s%s",
		"officer.on":   " untuk %s, sisa %s -> %s",
		"event":        "kejadian: %s %s",
		"cleared":      "gangguan pada driver kamar bicara dihapus",
		"status":       "status: %s%s, panggilan %d, penolakan %d, tindakan petugas %d, antrean %d catatan, seq terakhir %d",
		"status.call":  " (kartu %s, sisa %s)",
		"status.oos":   " tidak berfungsi: %s",
		"records.none": "antrean kosong",
		"hold":         "menahan %s di pembaca selama %s",
		"stopping":     "menghentikan: mengakhiri panggilan, relai mati",
		"stopped":      "dihentikan",
		"error":        "kesalahan: %v",
		"help": `perintah:
  tap NAMA|KARTU       tempelkan kartu (mis. tap budi, tap em:DEADBEEF01)
  hold NAMA|KARTU 2s   tahan kartu di pembaca
  lift | hang          angkat / tutup gagang telepon
  tamper open|close    buka / tutup panel kamar bicara
  unplug | replug      cabut / pasang kembali kabel pembaca
  status               keadaan kamar bicara dan antrean catatan
  records [N]          N catatan terakhir di antrean (bawaan 10)
  help | quit`,
	},
}

// langFromEnv picks the console language from LANG: Bahasa Indonesia for
// id_*, English otherwise.
func langFromEnv() string {
	if strings.HasPrefix(os.Getenv("LANG"), "id") {
		return "id"
	}
	return "en"
}

// msg formats a message of the catalogue in lang, falling back to English.
func msg(lang, key string, args ...any) string {
	f, ok := catalogue[lang][key]
	if !ok {
		f = catalogue["en"][key]
	}
	if len(args) == 0 {
		return f
	}
	return fmt.Sprintf(f, args...)
}
