package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"wartelsuspas/kiosk/protocol"
)

// An upload's body is read whole, under a deadline and the size limit,
// before the upload may wait for one of the Uploads slots: a booth on a slow
// link (or one that trickles on purpose) then holds its own connection,
// never a slot the other booths need. A device has one body being read at
// a time: a newer upload from it cuts the older read short, since the only
// honest reason for two is a booth retrying after its link dropped, and it
// is the newer one that the booth still waits for.

// bodies tracks the body being read for each device.
type bodies struct {
	mu   sync.Mutex
	next uint64
	m    map[string]bodyRead
}

type bodyRead struct {
	id  uint64
	cut func()
}

// start registers a read for device, cutting the one in progress, and
// returns the id that done takes.
func (b *bodies) start(device string, cut func()) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = make(map[string]bodyRead)
	}
	if old, ok := b.m[device]; ok {
		old.cut()
	}
	b.next++
	b.m[device] = bodyRead{id: b.next, cut: cut}
	return b.next
}

func (b *bodies) done(device string, id uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m[device].id == id {
		delete(b.m, device)
	}
}

// readBody replaces r.Body with its content read into memory: at most
// protocol.MaxBodyBytes+1 bytes (decode answers 413 above the limit), within
// Options.BodyTimeout.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, device string) error {
	rc := http.NewResponseController(w)
	// Not supported by every ResponseWriter (a test's recorder): the
	// listener's own ReadTimeout still bounds the read then.
	rc.SetReadDeadline(time.Now().Add(h.opt.BodyTimeout))
	var mu sync.Mutex
	cut := false
	id := h.bodies.start(device, func() {
		mu.Lock()
		cut = true
		mu.Unlock()
		rc.SetReadDeadline(time.Now())
	})
	defer h.bodies.done(device, id)
	body, err := io.ReadAll(io.LimitReader(r.Body, protocol.MaxBodyBytes+1))
	if err != nil {
		// The deadline stays passed, so the server's own attempt to drain
		// the rest of the body ends at once too, and the connection closes.
		w.Header().Set("Connection", "close")
		mu.Lock()
		wasCut := cut
		mu.Unlock()
		if wasCut {
			return refuse(http.StatusRequestTimeout, "", "upload body from %s cut short: a newer upload from the same device is being read", device)
		}
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return refuse(http.StatusRequestTimeout, "", "upload body not received within %v; send it again (a smaller batch on a slow link)", h.opt.BodyTimeout)
		}
		return refuse(http.StatusBadRequest, "", "read upload body: %v", err)
	}
	// The body is in: the connection's next request gets the listener's
	// own deadlines.
	rc.SetReadDeadline(time.Time{})
	r.Body = io.NopCloser(bytes.NewReader(body))
	return nil
}
