package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
)

// slotServer serves e's handler on its own loopback TLS listener, wrapped
// so the test learns when the handler first reads each request's body.
func slotServer(t *testing.T, e *env, reading chan<- string) *httptest.Server {
	t.Helper()
	cert, err := e.ca.ServerCert(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		device, _ := ca.DeviceFromState(r.TLS)
		r.Body = &firstRead{ReadCloser: r.Body, f: func() { reading <- device }}
		e.h.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.TLS = ca.ServerTLSConfig(e.ca.Certificate(), cert, e.ca.Revoked)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

type firstRead struct {
	io.ReadCloser
	once sync.Once
	f    func()
}

func (r *firstRead) Read(p []byte) (int, error) {
	r.once.Do(r.f)
	return r.ReadCloser.Read(p)
}

// slowUpload is an upload whose body the test trickles: half at once, the
// rest when finish is called.
type slowUpload struct {
	pw   *io.PipeWriter
	rest []byte
	done chan *http.Response // nil: the request failed
}

func (b *booth) slowUpload(t *testing.T, url string) *slowUpload {
	t.Helper()
	body, err := json.Marshal(protocol.UploadRequest{Records: []record.Record{b.next(record.KindEvent, record.Event{At: start, Event: "test"})}})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, url+protocol.PathUpload, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", protocol.ContentType)
	s := &slowUpload{pw: pw, rest: body[len(body)/2:], done: make(chan *http.Response, 1)}
	client := &http.Client{Transport: b.client.Transport} // no client timeout: the test holds it open
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			s.done <- nil
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		s.done <- resp
	}()
	go pw.Write(body[:len(body)/2])
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	return s
}

func (s *slowUpload) finish() {
	go func() {
		s.pw.Write(s.rest)
		s.pw.Close()
	}()
}

// fastUpload posts one record whole and returns the status.
func (b *booth) fastUpload(t *testing.T, url string) int {
	t.Helper()
	body, err := json.Marshal(protocol.UploadRequest{Records: []record.Record{b.next(record.KindEvent, record.Event{At: start, Event: "test"})}})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := b.client.Post(url+protocol.PathUpload, protocol.ContentType, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("upload of %s: %v", b.device, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// waitReading waits (bounded, not timed) until the handler reads device's body.
func waitReading(t *testing.T, reading <-chan string, device string) {
	t.Helper()
	bound := time.After(20 * time.Second)
	for {
		select {
		case d := <-reading:
			if d == device {
				return
			}
		case <-bound:
			t.Fatalf("the gateway never began reading the body of %s", device)
		}
	}
}

// TestSlowBodiesHoldNoSlot: four booths trickle their upload bodies (half
// sent, the rest held back) on a gateway with four upload slots; a fifth
// booth's upload is stored while all four bodies are still open. Then the
// four finish and are stored too. Before the fix each slow upload took a
// slot before its body was read, and the fifth waited for them.
func TestSlowBodiesHoldNoSlot(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(o *Options) { o.Uploads = 4 })
	reading := make(chan string, 64)
	srv := slotServer(t, e, reading)
	var slow []*slowUpload
	for _, name := range []string{"b01", "b02", "b03", "b04"} {
		b := e.booth(facility, name)
		slow = append(slow, b.slowUpload(t, srv.URL))
		waitReading(t, reading, b.device)
	}
	if code := e.booth(facility, "b05").fastUpload(t, srv.URL); code != http.StatusOK {
		t.Fatalf("fast upload with four slow bodies open: status %d, want 200", code)
	}
	for i, s := range slow {
		select {
		case resp := <-s.done:
			t.Fatalf("slow upload %d ended (%v) before its body was sent: the fast upload did not run beside open bodies", i+1, resp)
		default:
		}
	}
	for _, s := range slow {
		s.finish()
	}
	for i, s := range slow {
		if resp := <-s.done; resp == nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("slow upload %d once finished: %v, want 200", i+1, resp)
		}
	}
}

// TestOneBodyPerDevice: a booth with an upload body still open that sends
// another upload cuts the first short (408) and the second is stored, so a
// device holds at most one body in the gateway's memory. Before the fix the
// first stayed open as long as the booth kept it.
func TestOneBodyPerDevice(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), nil)
	reading := make(chan string, 64)
	srv := slotServer(t, e, reading)
	b := e.booth(facility, "b01")
	first := b.slowUpload(t, srv.URL)
	waitReading(t, reading, b.device)
	if code := b.fastUpload(t, srv.URL); code != http.StatusOK {
		t.Fatalf("second upload: status %d, want 200", code)
	}
	select {
	case resp := <-first.done:
		if resp != nil && resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("the cut upload got %d, want 408", resp.StatusCode)
		}
	case <-time.After(20 * time.Second): // bounds a hang only
		t.Fatal("the first upload's body is still being read after the same booth sent another")
	}
}

// TestBodyDeadline: a body that does not arrive within BodyTimeout is
// answered 408, and the booth's slot-free wait ends.
func TestBodyDeadline(t *testing.T) {
	e := newEnv(t, backends()[0].open(t), func(o *Options) { o.BodyTimeout = 50 * time.Millisecond })
	reading := make(chan string, 64)
	srv := slotServer(t, e, reading)
	b := e.booth(facility, "b01")
	s := b.slowUpload(t, srv.URL)
	select {
	case resp := <-s.done:
		if resp != nil && resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("a body past its deadline got %d, want 408", resp.StatusCode)
		}
	case <-time.After(20 * time.Second): // bounds a hang only
		t.Fatal("a trickled body is still being read long past its deadline")
	}
}
