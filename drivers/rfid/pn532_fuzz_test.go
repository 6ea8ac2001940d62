package rfid

import (
	"bytes"
	"testing"
)

// checkPN532Frame is an oracle independent of the parser's state machine:
// the frame that ended at in[end] must be laid out and checksummed as the
// user manual says, normal or extended.
func checkPN532Frame(t *testing.T, in []byte, end int, f PN532Frame) {
	t.Helper()
	n := len(f.Data) + 1
	at := func(i int) int {
		if i < 0 || i >= len(in) {
			t.Fatalf("frame %X ending at %d does not fit the input %X", f.Data, end, in)
		}
		return int(in[i])
	}
	dcs := at(end)
	sum := int(f.TFI) + dcs
	for _, c := range f.Data {
		sum += int(c)
	}
	if sum&0xFF != 0 {
		t.Fatalf("frame %X reported with a failing DCS in %X", f.Data, in)
	}
	tfiAt := end - n
	if at(tfiAt) != int(f.TFI) || !bytes.Equal(in[tfiAt+1:end], f.Data) {
		t.Fatalf("frame TFI/data %02X %X are not the input's bytes %X", f.TFI, f.Data, in[tfiAt:end])
	}
	lcs := at(tfiAt - 1)
	if l := at(tfiAt - 2); l == n && (l+lcs)&0xFF == 0 && at(tfiAt-3) == 0xFF && at(tfiAt-4) == 0x00 && n < 0xFF {
		return
	}
	m, l := at(tfiAt-3), at(tfiAt-2)
	if m<<8|l != n || (m+l+lcs)&0xFF != 0 || at(tfiAt-4) != 0xFF || at(tfiAt-5) != 0xFF || at(tfiAt-6) != 0xFF || at(tfiAt-7) != 0x00 {
		t.Fatalf("frame %X reported without a valid header in %X", f.Data, in)
	}
}

type pn532Parsed struct {
	kind PN532FrameKind
	tfi  byte
	data string
	err  error
}

// pn532FeedAll runs the parser over in, cut into pieces of the given sizes
// (cycled), checking every frame against the oracle.
func pn532FeedAll(t *testing.T, in []byte, cuts []int) []pn532Parsed {
	t.Helper()
	var p PN532FrameParser
	var out []pn532Parsed
	pos, ci := 0, 0
	for pos < len(in) {
		size := len(in) - pos
		if len(cuts) > 0 {
			size = min(size, cuts[ci%len(cuts)])
			ci++
		}
		chunk := in[pos : pos+size]
		off := 0
		for off < len(chunk) || p.Buffered() > 0 {
			held := p.Buffered()
			n, f, err := p.Feed(chunk[off:])
			if n == 0 && err == nil && f.Kind == PN532NoFrame && p.Buffered() == held {
				t.Fatalf("Feed made no progress on %X with %d bytes held", chunk[off:], held)
			}
			off += n
			if err != nil && f.Kind != PN532NoFrame {
				t.Fatalf("Feed returned both a frame and an error %v", err)
			}
			switch {
			case err != nil:
				out = append(out, pn532Parsed{err: err})
			case f.Kind == PN532InfoFrame || f.Kind == PN532ErrorFrame:
				// Held-back bytes are the last ones consumed.
				checkPN532Frame(t, in, pos+off-p.Buffered()-1, f)
				fallthrough
			case f.Kind != PN532NoFrame:
				out = append(out, pn532Parsed{kind: f.Kind, tfi: f.TFI, data: string(f.Data)})
			}
		}
		pos += size
	}
	return out
}

// FuzzPN532FrameParser: no panic, no frame that fails its checksums, and
// the same frames however the input is split.
func FuzzPN532FrameParser(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD4, 0x02, 0x2A, 0x00}, byte(1))
	f.Add([]byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}, byte(3))
	f.Add([]byte{0x55, 0x00, 0xFF, 0x05, 0xFB, 0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}, byte(2))
	f.Add(EncodePN532Frame(nil, PN532ChipToHost, bytes.Repeat([]byte{0xA5}, 260)), byte(7))
	f.Add(EncodePN532Frame([]byte{0x00, 0xFF, 0xFF, 0xFF, 0x01, 0x10}, PN532ChipToHost, []byte{0x4B, 0x01, 0x01, 0x00, 0x04, 0x08, 0x04, 1, 2, 3, 4}), byte(5))
	f.Fuzz(func(t *testing.T, in []byte, cut byte) {
		whole := pn532FeedAll(t, in, nil)
		split := pn532FeedAll(t, in, []int{int(cut%16) + 1, 1, int(cut>>4) + 1})
		if len(whole) != len(split) {
			t.Fatalf("whole input gave %d results, split input %d", len(whole), len(split))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("result %d: whole %+v, split %+v", i, whole[i], split[i])
			}
		}
	})
}

// FuzzPN532TargetUID: an InListPassiveTarget answer never panics and a UID
// is only ever 4, 7 or 10 bytes taken from the answer.
func FuzzPN532TargetUID(f *testing.F) {
	f.Add([]byte{0x00})
	f.Add([]byte{0x01, 0x01, 0x00, 0x04, 0x08, 0x04, 0x04, 0xA1, 0xB2, 0xC3})
	f.Add([]byte{0x01, 0x01, 0x00, 0x44, 0x00, 0x07, 1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, resp []byte) {
		uid, ok, reason := pn532TargetUID(resp)
		if ok && reason != "" || !ok && uid != nil {
			t.Fatalf("inconsistent result uid=%X ok=%v reason=%q", uid, ok, reason)
		}
		if ok {
			if n := len(uid); n != 4 && n != 7 && n != 10 || int(resp[5]) != n || !bytes.Equal(resp[6:6+n], uid) {
				t.Fatalf("uid %X is not the answer's NFCID1 in %X", uid, resp)
			}
		}
	})
}
