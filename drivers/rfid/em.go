package rfid

import "wartelsuspas/cardid"

// Frame bytes of the 125 kHz ASCII modules.
const (
	stx = 0x02
	etx = 0x03
)

// Reasons a passive parser drops a frame. They are constants so that
// reporting one allocates nothing.
const (
	reasonCut      = "frame cut short by a new start byte"
	reasonNonHex   = "non-hex character inside a frame"
	reasonNoEnd    = "missing end of frame after the checksum"
	reasonChecksum = "checksum mismatch"
	reasonBlank    = "blank card number (all zeros or all F)"
	reasonLong     = "line too long"
	reasonFormat   = "line is not a card number in the configured format"
)

// EMParser decodes the ASCII frames of 125 kHz EM4100 modules, fed one byte
// at a time:
//
//	RDM6300:         02, 10 hex data, 2 hex checksum, 03
//	ID-12LA/ID-20LA: 02, 10 hex data, 2 hex checksum, CR, LF, 03
//
// The checksum is the XOR of the 5 data bytes. Anything outside a frame is
// skipped; a start byte always begins a new frame, so noise, split writes
// and partial frames resynchronise on the next one. A frame whose checksum
// fails, or whose number is all zeros or all F, never yields a card.
//
// Feeding the frame of the card last decoded allocates nothing: a held
// card repeats its frame and the parser hands back the same cardid.ID.
type EMParser struct {
	trailer string // bytes after the checksum, ending with ETX
	state   uint8
	n       int      // hex characters collected, or trailer bytes matched
	buf     [12]byte // 10 data + 2 checksum hex characters
	last    [5]byte
	lastID  cardid.ID
}

const (
	emHunt = iota
	emBody
	emTrailer
)

// NewRDM6300Parser returns a parser for RDM6300 (and other bare STX/ETX
// EM4100 ASCII) frames.
func NewRDM6300Parser() *EMParser { return &EMParser{trailer: "\x03"} }

// NewID12Parser returns a parser for ID-12LA/ID-20LA ASCII frames.
func NewID12Parser() *EMParser { return &EMParser{trailer: "\r\n\x03"} }

// Reset forgets a partial frame.
func (p *EMParser) Reset() { p.state, p.n = emHunt, 0 }

// Feed takes one byte from the line. It returns a card id when c completed
// a valid frame, a reason when c completed (or broke) a frame that must be
// dropped, and neither when more bytes are needed.
func (p *EMParser) Feed(c byte) (id cardid.ID, bad string) {
	switch p.state {
	case emHunt:
		if c == stx {
			p.state, p.n = emBody, 0
		}
		return "", ""
	case emBody:
		if c == stx {
			p.n = 0
			return "", reasonCut
		}
		if hexVal(c) < 0 {
			p.state = emHunt
			return "", reasonNonHex
		}
		p.buf[p.n] = c
		p.n++
		if p.n == len(p.buf) {
			p.state, p.n = emTrailer, 0
		}
		return "", ""
	default: // emTrailer
		if c != p.trailer[p.n] {
			if c == stx {
				p.state, p.n = emBody, 0
			} else {
				p.state = emHunt
			}
			return "", reasonNoEnd
		}
		p.n++
		if p.n < len(p.trailer) {
			return "", ""
		}
		p.state = emHunt
		return p.decode()
	}
}

// decode checks the collected hex characters (all known to be hex digits).
func (p *EMParser) decode() (cardid.ID, string) {
	var data [5]byte
	var sum byte
	for i := range data {
		data[i] = byte(hexVal(p.buf[2*i])<<4 | hexVal(p.buf[2*i+1]))
		sum ^= data[i]
	}
	if sum != byte(hexVal(p.buf[10])<<4|hexVal(p.buf[11])) {
		return "", reasonChecksum
	}
	if data == [5]byte{} || data == [5]byte{0xff, 0xff, 0xff, 0xff, 0xff} {
		return "", reasonBlank
	}
	if p.lastID == "" || data != p.last {
		p.last, p.lastID = data, cardid.EMCard(data)
	}
	return p.lastID, ""
}

// hexVal returns the value of an ASCII hex digit (either case), or -1.
func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c - 'A' + 10)
	case c >= 'a' && c <= 'f':
		return int(c - 'a' + 10)
	}
	return -1
}

// EncodeEMFrame appends the frame a module of protocol sends for an EM4100
// card with the given 5 data bytes: the RDM6300 form when id12 is false,
// the ID-12LA form when it is true. Emulators and tests use it.
func EncodeEMFrame(dst []byte, data [5]byte, id12 bool) []byte {
	var sum byte
	for _, b := range data {
		sum ^= b
	}
	var hex [12]byte
	hexUpper(hex[:10], data[:])
	hexUpper(hex[10:], []byte{sum})
	dst = append(dst, stx)
	dst = append(dst, hex[:]...)
	if id12 {
		dst = append(dst, '\r', '\n')
	}
	return append(dst, etx)
}

// EMData returns the 5 data bytes of an em: card id, and whether id is one.
func EMData(id cardid.ID) (data [5]byte, ok bool) {
	u := id.UID()
	if id.Tech() != cardid.TechEM || len(u) != 10 {
		return data, false
	}
	for i := range data {
		hi, lo := hexVal(u[2*i]), hexVal(u[2*i+1])
		if hi < 0 || lo < 0 {
			return data, false
		}
		data[i] = byte(hi<<4 | lo)
	}
	return data, true
}
