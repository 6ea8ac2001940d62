package rfid_test

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"wartelsuspas/cardid"
	"wartelsuspas/drivers/rfid"
)

type result struct {
	id  cardid.ID
	bad string
}

// feed runs every byte of in through p and collects what it yields.
func feed(p rfid.ByteParser, in []byte) []result {
	var out []result
	for _, c := range in {
		if id, bad := p.Feed(c); id != "" || bad != "" {
			out = append(out, result{id, bad})
		}
	}
	return out
}

func cards(rs []result) []cardid.ID {
	var ids []cardid.ID
	for _, r := range rs {
		if r.id != "" {
			ids = append(ids, r.id)
		}
	}
	return ids
}

func TestEMKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    rfid.ByteParser
		in   string
		want cardid.ID
	}{
		{"RDM6300 datasheet", rfid.NewRDM6300Parser(), "\x020400D8B2A5CB\x03", "em:0400D8B2A5"},
		{"ID-12LA datasheet", rfid.NewID12Parser(), "\x020C000621A58E\r\n\x03", "em:0C000621A5"},
		{"lower-case hex", rfid.NewRDM6300Parser(), "\x020400d8b2a5cb\x03", "em:0400D8B2A5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := feed(tc.p, []byte(tc.in))
			if len(got) != 1 || got[0].id != tc.want {
				t.Fatalf("feed(%q) = %v, want one card %s", tc.in, got, tc.want)
			}
		})
	}
}

func TestEncodeEMFrameKnownAnswers(t *testing.T) {
	for _, tc := range []struct {
		data string
		id12 bool
		want string
	}{
		{"0400D8B2A5", false, "\x020400D8B2A5CB\x03"},
		{"0C000621A5", true, "\x020C000621A58E\r\n\x03"},
	} {
		b, _ := hex.DecodeString(tc.data)
		if got := string(rfid.EncodeEMFrame(nil, [5]byte(b), tc.id12)); got != tc.want {
			t.Errorf("EncodeEMFrame(%s, id12=%v) = %q, want %q", tc.data, tc.id12, got, tc.want)
		}
	}
}

func TestEMParserResync(t *testing.T) {
	const good = "\x020400D8B2A5CB\x03"
	for _, tc := range []struct {
		name     string
		in       string
		want     []cardid.ID
		wantBads int
	}{
		{"garbage before", "\x00\xffhello\x03" + good, []cardid.ID{"em:0400D8B2A5"}, 0},
		{"partial then frame", "\x020400D8" + good, []cardid.ID{"em:0400D8B2A5"}, 1},
		{"bad checksum dropped", "\x020400D8B2A5CC\x03" + good, []cardid.ID{"em:0400D8B2A5"}, 1},
		{"non-hex inside", "\x020400Z8B2A5CB\x03" + good, []cardid.ID{"em:0400D8B2A5"}, 1},
		{"missing end", "\x020400D8B2A5CB" + good, []cardid.ID{"em:0400D8B2A5"}, 1},
		{"all zeros never a card", "\x02000000000000\x03", nil, 1},
		{"all F never a card", "\x02FFFFFFFFFFFF\x03", nil, 1},
		{"held card repeats", good + good + good, []cardid.ID{"em:0400D8B2A5", "em:0400D8B2A5", "em:0400D8B2A5"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := feed(rfid.NewRDM6300Parser(), []byte(tc.in))
			ids := cards(got)
			if strings.Join(toStrings(ids), ",") != strings.Join(toStrings(tc.want), ",") {
				t.Errorf("cards = %v, want %v", ids, tc.want)
			}
			if bads := len(got) - len(ids); bads != tc.wantBads {
				t.Errorf("bad frames = %d (%v), want %d", bads, got, tc.wantBads)
			}
		})
	}
}

func toStrings(ids []cardid.ID) []string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return s
}

func TestASCIILineMapping(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    rfid.ASCIIOptions
		line string
		want cardid.ID // "" means a bad frame
	}{
		{"hex em", rfid.ASCIIOptions{Format: "hex", Tech: "em"}, "0f00275624\r\n", "em:0F00275624"},
		{"hex 14a 7-byte", rfid.ASCIIOptions{Tech: "14a"}, "04a1b2c3d4e5f6\n", "14a:04A1B2C3D4E5F6"},
		{"hex 14a with separators", rfid.ASCIIOptions{Tech: "14a"}, "04:A1:B2:C3\r", "14a:04A1B2C3"},
		{"hex em wrong length is raw", rfid.ASCIIOptions{Tech: "em"}, "0F002756\r\n", "raw:0F002756"},
		{"hex raw", rfid.ASCIIOptions{}, "abcd\r\n", "raw:ABCD"},
		{"hex odd length", rfid.ASCIIOptions{}, "abc\r\n", ""},
		{"hex not hex", rfid.ASCIIOptions{}, "hello!\r\n", ""},
		{"decimal em with version", rfid.ASCIIOptions{Format: "decimal", Tech: "em", EMVersion: "0f"}, "0002577956\r\n", "em:0F00275624"},
		{"decimal em without version is raw", rfid.ASCIIOptions{Format: "decimal", Tech: "em"}, "0002577956\r\n", "raw:2577956"},
		{"decimal 14a", rfid.ASCIIOptions{Format: "decimal", Tech: "14a"}, "0077774020\r\n", "14a:04A2BCC4"},
		{"decimal too big for em", rfid.ASCIIOptions{Format: "decimal", Tech: "em", EMVersion: "0F"}, "4294967296\r\n", "raw:4294967296"},
		{"decimal zero", rfid.ASCIIOptions{Format: "decimal"}, "0000000000\r\n", ""},
		{"decimal with letters", rfid.ASCIIOptions{Format: "decimal"}, "12a4\r\n", ""},
		{"stx etx wrapped", rfid.ASCIIOptions{Tech: "em"}, "\x020F00275624\x03\r\n", "em:0F00275624"},
		{"too long", rfid.ASCIIOptions{}, strings.Repeat("1", 60) + "\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := rfid.NewASCIILineParser(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			got := feed(p, []byte(tc.line))
			if len(got) != 1 || got[0].id != tc.want {
				t.Fatalf("feed(%q) = %v, want %q", tc.line, got, tc.want)
			}
		})
	}
}

func TestASCIIOptionsRejected(t *testing.T) {
	for _, o := range []rfid.ASCIIOptions{{Format: "octal"}, {Tech: "hid"}, {EMVersion: "F"}, {EMVersion: "ZZ"}} {
		if _, err := rfid.NewASCIILineParser(o); err == nil {
			t.Errorf("NewASCIILineParser(%+v) accepted bad options", o)
		}
	}
}

// TestASCIIEncodeRoundTrip checks that what an emulated reader prints is
// read back as the same card.
func TestASCIIEncodeRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		o  rfid.ASCIIOptions
		id cardid.ID
	}{
		{rfid.ASCIIOptions{Tech: "em"}, "em:0400D8B2A5"},
		{rfid.ASCIIOptions{Tech: "14a"}, "14a:04A1B2C3D4E5F6"},
		{rfid.ASCIIOptions{Format: "decimal", Tech: "em", EMVersion: "04"}, "em:0400D8B2A5"},
		{rfid.ASCIIOptions{Format: "decimal", Tech: "14a"}, "14a:04A1B2C3"},
	} {
		line, err := rfid.EncodeASCIILine(nil, tc.id, tc.o)
		if err != nil {
			t.Fatalf("EncodeASCIILine(%s): %v", tc.id, err)
		}
		p, _ := rfid.NewASCIILineParser(tc.o)
		if got := cards(feed(p, line)); len(got) != 1 || got[0] != tc.id {
			t.Errorf("%+v: %q read back as %v, want %s", tc.o, line, got, tc.id)
		}
	}
}

// validEMFrameEndingAt is the oracle of the fuzz tests, independent of the
// parser's state machine: in[:end+1] must end with a complete frame whose
// checksum holds and whose data is the card.
func validEMFrameEndingAt(in []byte, end int, trailer string, id cardid.ID) bool {
	start := end + 1 - (1 + 12 + len(trailer))
	if start < 0 || in[start] != 0x02 || string(in[start+13:end+1]) != trailer {
		return false
	}
	b, err := hex.DecodeString(string(in[start+1 : start+13]))
	if err != nil {
		return false
	}
	if b[0]^b[1]^b[2]^b[3]^b[4] != b[5] {
		return false
	}
	return id == cardid.ID("em:"+strings.ToUpper(hex.EncodeToString(b[:5]))) && id.Valid()
}

func fuzzEM(f *testing.F, newParser func() rfid.ByteParser, trailer string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p := newParser()
		for i, c := range in {
			id, bad := p.Feed(c)
			if id != "" && bad != "" {
				t.Fatalf("byte %d: both a card %s and a bad frame %q", i, id, bad)
			}
			if id != "" && !validEMFrameEndingAt(in, i, trailer, id) {
				t.Fatalf("byte %d of %q: card %s without a valid frame ending there", i, in, id)
			}
		}
		// Frames with a wrong checksum never yield a card; checked by the
		// oracle above. A good frame after anything must still be read.
		good := "\x02" + "0400D8B2A5CB" + trailer
		p.Reset()
		got := cards(feed(p, append(append([]byte{}, in...), good...)))
		if len(got) == 0 || got[len(got)-1] != "em:0400D8B2A5" {
			t.Fatalf("after %q a good frame was not read: %v", in, got)
		}
	})
}

func FuzzRDM6300Parser(f *testing.F) {
	fuzzEM(f, func() rfid.ByteParser { return rfid.NewRDM6300Parser() }, "\x03",
		"\x020400D8B2A5CB\x03", "\x020400D8B2A5CC\x03", "\x02\x02\x03", "\x020C000621A58E\r\n\x03")
}

func FuzzID12Parser(f *testing.F) {
	fuzzEM(f, func() rfid.ByteParser { return rfid.NewID12Parser() }, "\r\n\x03",
		"\x020C000621A58E\r\n\x03", "\x020C000621A58F\r\n\x03", "\x020400D8B2A5CB\x03")
}

func FuzzASCIILineParser(f *testing.F) {
	for _, s := range []string{"0F00275624\r\n", "0002577956\r\n", "04:a1:b2\n", "\x02\x03\r\r\n", "000000\r\n"} {
		f.Add([]byte(s), uint8(0))
	}
	opts := []rfid.ASCIIOptions{
		{Tech: "em"}, {Tech: "14a"}, {}, {Format: "decimal", Tech: "em", EMVersion: "0F"},
		{Format: "decimal", Tech: "14a"}, {Format: "decimal"},
	}
	f.Fuzz(func(t *testing.T, in []byte, which uint8) {
		o := opts[int(which)%len(opts)]
		p, err := rfid.NewASCIILineParser(o)
		if err != nil {
			t.Fatal(err)
		}
		lineStart := 0
		for i, c := range in {
			id, bad := p.Feed(c)
			if id != "" && bad != "" {
				t.Fatalf("both a card and a bad frame")
			}
			if id != "" {
				if !id.Valid() {
					t.Fatalf("invalid card id %q from %q", id, in[lineStart:i+1])
				}
				if c != '\r' && c != '\n' {
					t.Fatalf("card %s before the end of a line", id)
				}
				if want := asciiOracle(in[lineStart:i], o); string(id) != want {
					t.Fatalf("line %q read as %s, oracle says %s", in[lineStart:i], id, want)
				}
			}
			if c == '\r' || c == '\n' {
				lineStart = i + 1
			}
		}
	})
}

// asciiOracle maps a line as ASCIILineParser's doc comment says, by a
// different route (strconv and fmt instead of the parser's loops).
func asciiOracle(line []byte, o rfid.ASCIIOptions) string {
	var digits []byte
	for _, c := range line {
		if c >= 0x20 && c != ' ' && c != ':' && c != '-' && c != 0x7f {
			digits = append(digits, c)
		}
	}
	d := strings.ToUpper(string(digits))
	if o.Format != "decimal" {
		switch {
		case o.Tech == "em" && len(d) == 10:
			return "em:" + d
		case o.Tech == "14a" && (len(d) == 8 || len(d) == 14 || len(d) == 20):
			return "14a:" + d
		}
		return "raw:" + d
	}
	v, err := strconv.ParseUint(d, 10, 64)
	switch {
	case err == nil && v <= 0xFFFFFFFF && o.Tech == "em" && o.EMVersion != "":
		return fmt.Sprintf("em:%s%08X", strings.ToUpper(o.EMVersion), v)
	case err == nil && v <= 0xFFFFFFFF && o.Tech == "14a":
		return fmt.Sprintf("14a:%08X", v)
	}
	return "raw:" + strings.TrimLeft(d[:len(d)-1], "0") + d[len(d)-1:]
}

func benchParser(b *testing.B, p rfid.ByteParser, frame []byte) {
	b.ReportAllocs()
	feed(p, frame) // the first frame builds the CardID; steady state reuses it
	b.ResetTimer()
	for range b.N {
		n := 0
		for _, c := range frame {
			if id, _ := p.Feed(c); id != "" {
				n++
			}
		}
		if n != 1 {
			b.Fatalf("frame %q read as %d cards", frame, n)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

func BenchmarkRDM6300Parse(b *testing.B) {
	benchParser(b, rfid.NewRDM6300Parser(), []byte("\x020400D8B2A5CB\x03"))
}

func BenchmarkID12Parse(b *testing.B) {
	benchParser(b, rfid.NewID12Parser(), []byte("\x020C000621A58E\r\n\x03"))
}

func BenchmarkASCIILineParse(b *testing.B) {
	p, _ := rfid.NewASCIILineParser(rfid.ASCIIOptions{Tech: "14a"})
	benchParser(b, p, []byte("04A1B2C3D4E5F6\r\n"))
}

// TestEMRoundTrip: every frame the modules can send for a card reads back
// as that card, in either framing, and a frame with any other checksum is
// dropped.
func TestEMRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var data [5]byte
		copy(data[:], rapid.SliceOfN(rapid.Byte(), 5, 5).Draw(t, "data"))
		id12 := rapid.Bool().Draw(t, "id12")
		newParser := rfid.NewRDM6300Parser
		if id12 {
			newParser = rfid.NewID12Parser
		}
		frame := rfid.EncodeEMFrame(nil, data, id12)
		got := cards(feed(newParser(), frame))
		blankData := data == [5]byte{} || data == [5]byte{0xff, 0xff, 0xff, 0xff, 0xff}
		if blankData && len(got) != 0 || !blankData && (len(got) != 1 || got[0] != cardid.EMCard(data)) {
			t.Fatalf("%q read as %v", frame, got)
		}
		// Any other checksum value is dropped.
		wrong := rapid.ByteRange(1, 255).Draw(t, "flip")
		sum := data[0] ^ data[1] ^ data[2] ^ data[3] ^ data[4] ^ wrong
		copy(frame[11:13], fmt.Sprintf("%02X", sum))
		if got := cards(feed(newParser(), frame)); len(got) != 0 {
			t.Fatalf("frame with checksum %02X read as %v", sum, got)
		}
	})
}
