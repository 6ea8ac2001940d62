package rfid

import (
	"fmt"
	"strconv"
	"wartelsuspas/cardid"
)

// ASCIIOptions says how a plain ASCII-line reader prints a card.
type ASCIIOptions struct {
	// Format is "hex" (default) or "decimal".
	Format string
	// Tech is the technology the reader reads: "em", "14a" or "raw"
	// (default): it decides the cardid.ID prefix, see ASCIILineParser.
	Tech string
	// EMVersion is the EM4100 version (customer) byte of the facility's
	// cards as two hex digits, e.g. "0F". Decimal desk readers drop it, so
	// without it a decimal EM number cannot be mapped to em:… and stays raw.
	EMVersion string
}

// asciiMaxLine bounds a line: a 10-byte UID in hex with separators fits.
const asciiMaxLine = 40

// ASCIILineParser decodes readers that print each card as one line of
// text ending in CR, LF or both (USB CDC desk readers). Control bytes
// other than CR and LF (some readers wrap lines in STX/ETX) and spaces,
// ':' and '-' separators are ignored. The mapping to a cardid.ID is:
//
//   - hex, tech em: exactly 10 digits → em:<digits>. tech 14a: 8, 14 or 20
//     digits (a 4-, 7- or 10-byte UID) → 14a:<digits>. Upper-cased.
//   - decimal, tech em with EMVersion set: a number below 2^32 is the
//     32-bit id of the card (the "wiegand-style" 10 digits printed on many
//     EM cards) → em:<EMVersion><8 hex digits>, the id an RDM6300 reads.
//   - decimal, tech 14a: a number below 2^32 is a 4-byte UID, most
//     significant byte first → 14a:<8 hex digits>.
//   - anything else that is a well-formed number → raw:<hex upper-cased>
//     or raw:<decimal without leading zeros>, so the same card printed by
//     the same kind of reader always gives the same id.
//
// A line that is not a number in the format, and a number that is all
// zeros or all F, is a bad frame, never a card.
type ASCIILineParser struct {
	decimal  bool
	tech     string
	version  string
	n        int
	overflow bool
	buf      [asciiMaxLine]byte
	lastN    int
	last     [asciiMaxLine]byte
	lastID   cardid.ID
}

// NewASCIILineParser returns a parser for o, or an error naming the bad
// option.
func NewASCIILineParser(o ASCIIOptions) (*ASCIILineParser, error) {
	p := &ASCIILineParser{tech: o.Tech}
	switch o.Format {
	case "", "hex":
	case "decimal":
		p.decimal = true
	default:
		return nil, fmt.Errorf("ascii reader: format %q: want \"hex\" or \"decimal\"", o.Format)
	}
	switch o.Tech {
	case "":
		p.tech = cardid.TechRaw
	case cardid.TechEM, cardid.TechISO14443A, cardid.TechRaw:
	default:
		return nil, fmt.Errorf("ascii reader: tech %q: want %q, %q or %q", o.Tech, cardid.TechEM, cardid.TechISO14443A, cardid.TechRaw)
	}
	if o.EMVersion != "" {
		if len(o.EMVersion) != 2 || hexVal(o.EMVersion[0]) < 0 || hexVal(o.EMVersion[1]) < 0 {
			return nil, fmt.Errorf("ascii reader: em version %q: want two hex digits, e.g. \"0F\"", o.EMVersion)
		}
		p.version = string([]byte{hexDigits[hexVal(o.EMVersion[0])], hexDigits[hexVal(o.EMVersion[1])]})
	}
	return p, nil
}

// Reset forgets a partial line.
func (p *ASCIILineParser) Reset() { p.n, p.overflow = 0, false }

// Feed takes one byte from the line; results are as for EMParser.Feed.
func (p *ASCIILineParser) Feed(c byte) (id cardid.ID, bad string) {
	switch {
	case c == '\r' || c == '\n':
		n, over := p.n, p.overflow
		p.n, p.overflow = 0, false
		if over {
			return "", reasonLong
		}
		if n == 0 {
			return "", ""
		}
		return p.line(p.buf[:n])
	case c < 0x20 || c == ' ' || c == ':' || c == '-' || c == 0x7f:
		return "", ""
	case p.n == len(p.buf):
		p.overflow = true
		return "", ""
	}
	p.buf[p.n] = c
	p.n++
	return "", ""
}

// line maps one line with separators removed.
func (p *ASCIILineParser) line(b []byte) (cardid.ID, string) {
	if p.lastID != "" && p.lastN == len(b) && string(p.last[:p.lastN]) == string(b) {
		return p.lastID, ""
	}
	id, ok := p.mapLine(b)
	if !ok {
		return "", reasonFormat
	}
	if !id.Valid() {
		return "", reasonBlank
	}
	p.lastN = copy(p.last[:], b)
	p.lastID = id
	return id, ""
}

func (p *ASCIILineParser) mapLine(b []byte) (cardid.ID, bool) {
	if !p.decimal {
		if len(b)%2 != 0 || len(b) > 20 {
			return "", false
		}
		up := make([]byte, len(b))
		for i, c := range b {
			v := hexVal(c)
			if v < 0 {
				return "", false
			}
			up[i] = hexDigits[v]
		}
		switch {
		case p.tech == cardid.TechEM && len(up) == 10:
			return cardid.ID(cardid.TechEM + ":" + string(up)), true
		case p.tech == cardid.TechISO14443A && (len(up) == 8 || len(up) == 14 || len(up) == 20):
			return cardid.ID(cardid.TechISO14443A + ":" + string(up)), true
		}
		return cardid.ID(cardid.TechRaw + ":" + string(up)), true
	}
	if len(b) > 20 {
		return "", false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	v, err := strconv.ParseUint(string(b), 10, 64)
	switch {
	case err == nil && v <= 0xFFFFFFFF && p.tech == cardid.TechEM && p.version != "":
		return cardid.ID(fmt.Sprintf("%s:%s%08X", cardid.TechEM, p.version, v)), true
	case err == nil && v <= 0xFFFFFFFF && p.tech == cardid.TechISO14443A:
		return cardid.ID(fmt.Sprintf("%s:%08X", cardid.TechISO14443A, v)), true
	}
	i := 0
	for i < len(b)-1 && b[i] == '0' {
		i++
	}
	return cardid.ID(cardid.TechRaw + ":" + string(b[i:])), true
}

// EncodeASCIILine appends the line a reader configured with o prints for
// id (hex: the UID; decimal: the number the mapping above reads back as
// id, when there is one), ending in CR LF. Emulators and tests use it.
func EncodeASCIILine(dst []byte, id cardid.ID, o ASCIIOptions) ([]byte, error) {
	u := id.UID()
	if o.Format != "decimal" || id.Tech() == cardid.TechRaw {
		return append(append(dst, u...), '\r', '\n'), nil
	}
	last8 := u
	if len(u) > 8 {
		last8 = u[len(u)-8:]
	}
	v, err := strconv.ParseUint(last8, 16, 32)
	if err != nil || (id.Tech() == cardid.TechISO14443A && len(u) != 8) {
		return dst, fmt.Errorf("card %s has no decimal form on an ascii reader", id)
	}
	return append(fmt.Appendf(dst, "%010d", v), '\r', '\n'), nil
}
