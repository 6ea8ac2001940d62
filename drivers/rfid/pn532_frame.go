package rfid

import "errors"

// PN532 frame layout (PN532 User Manual UM0701-02, §6.2.1):
//
//	normal:   00 00 FF LEN LCS TFI PD0..PDn DCS 00        LEN+LCS = 0, TFI+PD+DCS = 0 (mod 256)
//	extended: 00 00 FF FF FF LENM LENL LCS TFI PD.. DCS 00 LENM+LENL+LCS = 0
//	ACK:      00 00 FF 00 FF 00
//	NACK:     00 00 FF FF 00 00
//	error:    00 00 FF 01 FF 7F 81 00  (application-level syntax error)
//
// LEN counts TFI and PD. TFI is D4 host→PN532 and D5 PN532→host.
const (
	// PN532HostToChip is the TFI of a frame from the host to the PN532.
	PN532HostToChip = 0xD4
	// PN532ChipToHost is the TFI of a frame from the PN532 to the host.
	PN532ChipToHost = 0xD5
	// pn532ErrorTFI is the TFI of the application error frame.
	pn532ErrorTFI = 0x7F
	// PN532MaxData is the largest TFI+PD a frame may carry: the PN532's
	// 265-byte buffer. Longer extended frames are rejected as malformed, so
	// a corrupted length cannot make the parser swallow the line.
	PN532MaxData = 265
)

// PN532 wire constants.
var (
	// PN532Ack is the acknowledge frame either side sends.
	PN532Ack = []byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	// PN532Nack asks the other side to send its last response again.
	PN532Nack = []byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
	// PN532WakeUp wakes a PN532 on HSU from power-down: 55 55 and zeros
	// long enough for its oscillator to start (as libnfc sends it).
	PN532WakeUp = []byte{0x55, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
)

// Errors the frame parser reports. Each means one frame was dropped; the
// parser has already resynchronised and looks for the next start code.
var (
	ErrPN532LCS       = errors.New("pn532 frame: length checksum (LCS) mismatch")
	ErrPN532DCS       = errors.New("pn532 frame: data checksum (DCS) mismatch")
	ErrPN532Ack       = errors.New("pn532 frame: malformed ACK/NACK")
	ErrPN532TooLong   = errors.New("pn532 frame: extended frame longer than the PN532 buffer (265 bytes)")
	ErrPN532EmptyData = errors.New("pn532 frame: extended frame with zero length")
)

// PN532FrameKind tells what a parsed frame is.
type PN532FrameKind uint8

// Kinds of PN532 frames.
const (
	PN532NoFrame PN532FrameKind = iota // no complete frame yet
	PN532AckFrame
	PN532NackFrame
	PN532InfoFrame  // a normal or extended information frame
	PN532ErrorFrame // the application error frame (TFI 7F)
)

func (k PN532FrameKind) String() string {
	switch k {
	case PN532NoFrame:
		return "none"
	case PN532AckFrame:
		return "ack"
	case PN532NackFrame:
		return "nack"
	case PN532InfoFrame:
		return "info"
	case PN532ErrorFrame:
		return "error"
	}
	return "PN532FrameKind(?)"
}

// PN532Frame is one frame the parser completed. Data aliases the parser's
// buffer: it is valid until the next call to Feed.
type PN532Frame struct {
	Kind PN532FrameKind
	TFI  byte   // info frames: D4 or D5 (any value is passed through)
	Data []byte // info frames: PD0..PDn (PD0 is the command code)
}

// parser states
const (
	psHunt   = iota // looking for the 00 FF start code
	psLen           // after 00 FF
	psAckLCS        // LEN 00: expect LCS FF (ACK)
	psFF            // LEN FF: NACK (00) or extended (FF)
	psExtM          // extended LENM
	psExtL          // extended LENL
	psExtLCS        // extended LCS
	psLCS           // normal LCS
	psTFI           // TFI
	psData          // PD bytes
	psDCS           // DCS
)

// pn532MaxRaw bounds the bytes after a start code: FF FF LENM LENL LCS,
// TFI and PD (PN532MaxData), DCS.
const pn532MaxRaw = 5 + PN532MaxData + 1

// PN532FrameParser splits a byte stream into PN532 frames. It never
// allocates. Garbage, split writes and partial frames are absorbed: after
// a bad frame it hunts for the next 00 FF start code from the byte after
// the bad one's start code, so a truncated frame does not swallow the
// good frames that follow it. The zero value is ready to use.
type PN532FrameParser struct {
	state int
	zero  bool // hunting: the last byte was 00
	n     int  // TFI+PD bytes announced
	lenM  byte
	sum   byte // running TFI+PD sum
	tfi   byte
	got   int // PD bytes received
	data  int // index in raw of PD0

	// raw holds the bytes since the start code; after an error they are
	// searched again for a start code, from pend.
	raw     [pn532MaxRaw]byte
	rawN    int
	pend    [pn532MaxRaw]byte
	pendOff int
	pendN   int
}

// Reset drops any partial frame and any bytes held back.
func (p *PN532FrameParser) Reset() {
	p.state, p.zero, p.rawN, p.pendOff, p.pendN = psHunt, false, 0, 0, 0
}

// Buffered reports how many bytes the parser holds back to search again
// after a bad frame. Feed works through them before it takes new input.
func (p *PN532FrameParser) Buffered() int { return p.pendN - p.pendOff }

// Feed parses bytes held back from earlier input and then b, until it
// completes a frame, finds a bad one, or runs out of bytes. It returns
// how many bytes of b it consumed and the frame or the error. An error
// means one frame was dropped (the error says why) and never comes with a
// frame. Call Feed again with the rest of b until it returns n == 0 with
// no frame and no error: after a bad frame it may return frames found in
// bytes it held back without consuming any of b.
func (p *PN532FrameParser) Feed(b []byte) (n int, f PN532Frame, err error) {
	for p.pendOff < p.pendN {
		c := p.pend[p.pendOff]
		p.pendOff++
		if f, err, done := p.step(c); done {
			return 0, f, err
		}
	}
	for i := 0; i < len(b); i++ {
		if p.state == psData {
			// Take as much of the data as b holds at once.
			k := min(p.n-1-p.got, len(b)-i)
			sum := p.sum
			for _, d := range b[i : i+k] {
				sum += d
			}
			p.sum = sum
			p.rawN += copy(p.raw[p.rawN:], b[i:i+k])
			p.got += k
			i += k - 1
			if p.got == p.n-1 {
				p.state = psDCS
			}
			continue
		}
		if f, err, done := p.step(b[i]); done {
			return i + 1, f, err
		}
	}
	return len(b), PN532Frame{}, nil
}

// step parses one byte; done reports a frame or an error.
func (p *PN532FrameParser) step(c byte) (f PN532Frame, err error, done bool) {
	if p.state == psHunt {
		if p.zero && c == 0xFF {
			p.state, p.rawN = psLen, 0
		}
		p.zero = c == 0x00
		return f, nil, false
	}
	p.raw[p.rawN] = c
	p.rawN++
	switch p.state {
	case psLen:
		switch c {
		case 0x00:
			p.state = psAckLCS
		case 0xFF:
			p.state = psFF
		default:
			p.n = int(c)
			p.state = psLCS
		}
	case psAckLCS:
		if c != 0xFF {
			return p.fail(ErrPN532Ack)
		}
		p.hunt()
		return PN532Frame{Kind: PN532AckFrame}, nil, true
	case psFF:
		switch c {
		case 0x00:
			p.hunt()
			return PN532Frame{Kind: PN532NackFrame}, nil, true
		case 0xFF:
			p.state = psExtM
		default:
			return p.fail(ErrPN532Ack)
		}
	case psExtM:
		p.lenM = c
		p.state = psExtL
	case psExtL:
		p.n = int(p.lenM)<<8 | int(c)
		p.sum = p.lenM + c
		p.state = psExtLCS
	case psExtLCS:
		switch {
		case p.sum+c != 0:
			return p.fail(ErrPN532LCS)
		case p.n == 0:
			return p.fail(ErrPN532EmptyData)
		case p.n > PN532MaxData:
			return p.fail(ErrPN532TooLong)
		}
		p.state = psTFI
	case psLCS:
		if byte(p.n)+c != 0 {
			return p.fail(ErrPN532LCS)
		}
		p.state = psTFI
	case psTFI:
		p.tfi, p.sum, p.got, p.data = c, c, 0, p.rawN
		if p.n == 1 {
			p.state = psDCS
		} else {
			p.state = psData
		}
	case psData:
		p.sum += c
		p.got++
		if p.got == p.n-1 {
			p.state = psDCS
		}
	case psDCS:
		if p.sum+c != 0 {
			return p.fail(ErrPN532DCS)
		}
		p.hunt()
		if p.tfi == pn532ErrorTFI && p.got == 0 {
			return PN532Frame{Kind: PN532ErrorFrame, TFI: p.tfi}, nil, true
		}
		return PN532Frame{Kind: PN532InfoFrame, TFI: p.tfi, Data: p.raw[p.data : p.data+p.got]}, nil, true
	}
	return f, nil, false
}

// hunt goes back to looking for a start code after a good frame.
func (p *PN532FrameParser) hunt() { p.state, p.zero = psHunt, false }

// fail drops the frame being parsed and holds back its bytes after the
// start code, ahead of any still held, to be searched again: a start code
// among them begins the next frame. Each replay is shorter than the bytes
// it replays, so it ends, and it fits: either all of raw came from pend
// (then raw and the rest of pend are a part of what pend held) or pend
// was empty.
func (p *PN532FrameParser) fail(e error) (PN532Frame, error, bool) {
	rest := p.pendN - p.pendOff
	copy(p.pend[p.rawN:], p.pend[p.pendOff:p.pendN])
	copy(p.pend[:p.rawN], p.raw[:p.rawN])
	p.pendOff, p.pendN = 0, p.rawN+rest
	p.state, p.zero, p.rawN = psHunt, false, 0
	return PN532Frame{}, e, true
}

// EncodePN532Frame appends to dst the information frame carrying tfi and
// data (data[0] is the command code), normal or extended as its length
// needs, and returns the extended slice. It panics if data is empty or
// longer than PN532MaxData-1: a programming error, not a line condition.
func EncodePN532Frame(dst []byte, tfi byte, data []byte) []byte {
	n := len(data) + 1
	if len(data) == 0 || n > PN532MaxData {
		panic("rfid: EncodePN532Frame: data must hold 1 to 264 bytes")
	}
	dst = append(dst, 0x00, 0x00, 0xFF)
	if n < 0xFF {
		dst = append(dst, byte(n), -byte(n))
	} else {
		m, l := byte(n>>8), byte(n)
		dst = append(dst, 0xFF, 0xFF, m, l, -(m + l))
	}
	sum := tfi
	dst = append(dst, tfi)
	for _, c := range data {
		sum += c
	}
	dst = append(dst, data...)
	return append(dst, -sum, 0x00)
}
