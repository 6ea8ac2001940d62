// Package server is the reference gateway's HTTP side: the /v1 handler that
// booths call over mutual TLS (upload, sync, authorise, release, heartbeat),
// its per-device rate limit and metrics, and the http.Server settings it runs
// under. Storage is a ledger.Store; the TLS identity comes from package ca.
package server

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/policy"
	"wartelsuspas/kiosk/protocol"
	"wartelsuspas/kiosk/record"
	"wartelsuspas/tools/centre/ca"
	"wartelsuspas/tools/centre/ledger"
)

// Defaults of Options.
const (
	DefaultLeaseTTL     = 2 * time.Minute
	DefaultRate         = 20 // requests per second per device
	DefaultBurst        = 40
	DefaultOnlineWindow = 2 * time.Minute
	DefaultUploads      = 4
	// DefaultBodyTimeout bounds the read of one upload's body: a full 1 MiB
	// batch at 64 kbit/s takes about 2 minutes (the listener's ReadTimeout).
	DefaultBodyTimeout = ReadTimeout
)

// Options configure New. Ledger is required.
type Options struct {
	Ledger ledger.Store
	// Now is the gateway's wall clock (nil: time.Now). Leases, heartbeats
	// and rate limits use it; a booth's clock is never trusted.
	Now func() time.Time
	Log *slog.Logger // nil: slog.Default()
	// Registry receives the gateway's metrics (nil: none registered).
	Registry prometheus.Registerer
	// LeaseTTL is how long an authorise lease outlives the call it covers
	// (0: DefaultLeaseTTL): a lease lasts the inmate's remaining time plus
	// LeaseTTL, so it holds for the longest call the booth may allow
	// without renewal (the heartbeat names no lease to renew), and a booth
	// that dies mid-call frees the inmate that long after the call's end.
	LeaseTTL time.Duration
	// Rate and Burst make the per-device token bucket: Rate requests a
	// second on average, Burst at once (0: DefaultRate, DefaultBurst).
	Rate  float64
	Burst int
	// Uploads bounds the uploads served at once (0: DefaultUploads). The
	// others wait before touching the database, so a thousand booths
	// draining their outboxes after an outage do not queue ahead of a tap
	// waiting for /v1/authorise. An upload's body is read before it waits
	// for a slot (bodies.go), so a slow booth never holds one.
	Uploads int
	// BodyTimeout bounds the read of one upload's body
	// (0: DefaultBodyTimeout); a booth past it gets 408.
	BodyTimeout time.Duration
	// OnlineWindow is how recent a heartbeat must be for a booth to count
	// as online in the metrics (0: DefaultOnlineWindow).
	OnlineWindow time.Duration
}

// Handler serves the /v1 API. Every request must come over a TLS
// connection whose verified client certificate names a device.
type Handler struct {
	opt     Options
	mux     *http.ServeMux
	limit   *limiter
	uploads chan struct{} // semaphore of Options.Uploads
	bodies  bodies        // upload bodies being read, one per device
	metrics *metrics
	mu      sync.Mutex
	rosters map[string]*rosterCache // by facility
}

// New returns the /v1 handler.
func New(opt Options) (*Handler, error) {
	if opt.Ledger == nil {
		return nil, errors.New("server: Options.Ledger is nil")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.LeaseTTL <= 0 {
		opt.LeaseTTL = DefaultLeaseTTL
	}
	if opt.Rate <= 0 {
		opt.Rate = DefaultRate
	}
	if opt.Burst <= 0 {
		opt.Burst = DefaultBurst
	}
	if opt.Uploads <= 0 {
		opt.Uploads = DefaultUploads
	}
	if opt.OnlineWindow <= 0 {
		opt.OnlineWindow = DefaultOnlineWindow
	}
	if opt.BodyTimeout <= 0 {
		opt.BodyTimeout = DefaultBodyTimeout
	}
	h := &Handler{
		opt:     opt,
		mux:     http.NewServeMux(),
		limit:   newLimiter(opt.Rate, opt.Burst, opt.Now),
		uploads: make(chan struct{}, opt.Uploads),
		rosters: make(map[string]*rosterCache),
	}
	m, err := newMetrics(opt.Registry, opt.Ledger, opt.Now, opt.OnlineWindow)
	if err != nil {
		return nil, err
	}
	h.metrics = m
	h.handle(protocol.PathUpload, h.upload)
	h.handle(protocol.PathSync, h.sync)
	h.handle(protocol.PathAuthorise, h.authorise)
	h.handle(protocol.PathRelease, h.release)
	h.handle(protocol.PathHeartbeat, h.heartbeat)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// apiError is a refusal with its HTTP status and the wire body.
type apiError struct {
	status int
	body   protocol.Error
	retry  time.Duration // Retry-After for 429
}

func (e *apiError) Error() string { return e.body.Error }

func refuse(status int, field, format string, args ...any) *apiError {
	return &apiError{status: status, body: protocol.Error{Error: fmt.Sprintf(format, args...), Field: field}}
}

// endpoint handles one decoded call for the device the certificate names
// and returns the response body (nil: 204 No Content).
type endpoint func(ctx context.Context, device string, r *http.Request) (any, error)

func (h *Handler) handle(path string, fn endpoint) {
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		status := h.serve(w, r, path == protocol.PathUpload, fn)
		h.metrics.latency.WithLabelValues(path, strconv.Itoa(status)).Observe(time.Since(start).Seconds())
	})
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, upload bool, fn endpoint) int {
	device, err := h.admit(r)
	if err == nil && upload {
		// The body first: a slot is for database work, never for
		// waiting on a booth's link.
		err = h.readBody(w, r, device)
	}
	if err == nil && upload {
		// Waiting uploads do no database work at all, not even the
		// revocation check, so taps are not queued behind them.
		select {
		case h.uploads <- struct{}{}:
			defer func() { <-h.uploads }()
		case <-r.Context().Done():
			ae := refuse(http.StatusServiceUnavailable, "", "gateway busy with other uploads; retry later")
			ae.retry, err = time.Second, ae // the booth has most likely gone already
		}
	}
	if err == nil {
		err = h.checkRevoked(r.Context(), device, r.TLS)
	}
	if err == nil {
		var body any
		body, err = fn(r.Context(), device, r)
		if err == nil {
			if body == nil {
				w.WriteHeader(http.StatusNoContent)
				return http.StatusNoContent
			}
			return writeJSON(w, http.StatusOK, body)
		}
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		h.opt.Log.Error("gateway request failed; check the database named in the error", "path", r.URL.Path, "device", device, "err", err)
		ae = refuse(http.StatusInternalServerError, "", "gateway storage error; the booth should retry later")
	} else if ae.status >= 400 && ae.status != http.StatusTooManyRequests {
		h.opt.Log.Info("request refused", "path", r.URL.Path, "device", device, "status", ae.status, "reason", ae.body.Error)
	}
	if ae.retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((ae.retry+time.Second-1)/time.Second)))
	}
	return writeJSON(w, ae.status, ae.body)
}

// admit binds the request to the device of its client certificate and
// applies the method and rate-limit rules, which cost no database work.
func (h *Handler) admit(r *http.Request) (string, error) {
	device, err := ca.DeviceFromState(r.TLS)
	if err != nil {
		return "", refuse(http.StatusUnauthorized, "", "no verified device certificate on this connection: %v", err)
	}
	if r.Method != http.MethodPost {
		return device, refuse(http.StatusMethodNotAllowed, "", "method %s not allowed; every /v1 call is a POST", r.Method)
	}
	if wait, ok := h.limit.allow(device); !ok {
		ae := refuse(http.StatusTooManyRequests, "", "device %s exceeds %g requests per second; retry later", device, h.opt.Rate)
		ae.retry = wait
		return device, ae
	}
	return device, nil
}

// checkRevoked refuses a device, or the one certificate of it the
// connection presents, revoked since the connection was opened (new
// connections are refused at the handshake).
func (h *Handler) checkRevoked(ctx context.Context, device string, cs *tls.ConnectionState) error {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 { // admit refuses these first
		return refuse(http.StatusUnauthorized, "", "no verified device certificate on this connection")
	}
	serial := bundle.Serial(cs.VerifiedChains[0][0])
	revoked, err := h.opt.Ledger.CertificateRevoked(ctx, device, serial)
	if err != nil {
		return fmt.Errorf("revocation check of %s: %w", device, err)
	}
	if revoked {
		return refuse(http.StatusForbidden, "", "device %s or its certificate %s is revoked; use the booth's newer bundle, or re-enrol it with wartel-gateway enroll", device, serial)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, body any) int {
	b, err := json.Marshal(body)
	if err != nil { // our own types always encode; keep the answer well-formed anyway
		status, b = http.StatusInternalServerError, []byte(`{"error":"gateway could not encode its answer"}`)
	}
	w.Header().Set("Content-Type", protocol.ContentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
	return status
}

// decode reads the body strictly into v and validates it.
func decode(r *http.Request, v interface{ Validate() error }) error {
	if err := protocol.Decode(r.Body, protocol.MaxBodyBytes, v); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, protocol.ErrTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		return &apiError{status: status, body: protocol.ErrorBody(err)}
	}
	if err := v.Validate(); err != nil {
		return &apiError{status: http.StatusBadRequest, body: protocol.ErrorBody(err)}
	}
	return nil
}

func facilityOf(device string) string {
	f, _, _ := strings.Cut(device, "/")
	return f
}

func (h *Handler) upload(ctx context.Context, device string, r *http.Request) (any, error) {
	var req protocol.UploadRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	for i, rec := range req.Records {
		if rec.Device != device {
			return nil, refuse(http.StatusForbidden, fmt.Sprintf("records[%d].device", i),
				"record names device %q but the client certificate is %q; a booth uploads only its own records", rec.Device, device)
		}
		if rec.Seq > math.MaxInt64 { // the databases keep sequences as signed 64-bit integers
			return nil, refuse(http.StatusBadRequest, fmt.Sprintf("records[%d].seq", i), "seq %d is out of range (1…2^63-1)", rec.Seq)
		}
	}
	res, err := h.opt.Ledger.Ingest(ctx, device, req.Records)
	if err != nil {
		return nil, fmt.Errorf("ingest %d records of %s: %w", len(req.Records), device, err)
	}
	out := protocol.UploadResponse{StoredUpTo: res.Contiguous, Results: make([]protocol.ItemResult, 0, len(res.Records))}
	for _, rr := range res.Records {
		out.Results = append(out.Results, protocol.ItemResult{Seq: rr.Seq, Status: protocol.ItemStatus(rr.Status)})
		h.metrics.ingested.WithLabelValues(string(rr.Status)).Inc()
		for _, f := range rr.Flags {
			h.metrics.chainErrors.WithLabelValues(f).Inc()
			msg := fmt.Sprintf("seq %d: %s", rr.Seq, f)
			out.ChainErrors = append(out.ChainErrors, msg)
			h.opt.Log.Warn("chain error stored and flagged, not mended; inspect with wartel-gateway devices", "device", device, "seq", rr.Seq, "kind", f)
		}
	}
	h.metrics.countStored(req.Records, res)
	h.endLeases(ctx, device, req.Records, res)
	return out, nil
}

// endLeases ends the leases that stored call and denial records carry:
// once the centre counts a call, the inmate may call at another booth. A
// duplicate ends its lease again, harmlessly (a lease id is used once).
// A failure is logged: the lease then runs out by itself.
func (h *Handler) endLeases(ctx context.Context, device string, recs []record.Record, res ledger.IngestResult) {
	kept := make(map[uint64]bool, len(res.Records))
	for _, rr := range res.Records {
		kept[rr.Seq] = rr.Status == ledger.Stored || rr.Status == ledger.Duplicate
	}
	for _, rec := range recs {
		if !kept[rec.Seq] || rec.Kind != record.KindCall && rec.Kind != record.KindDenial {
			continue
		}
		var p struct {
			Lease string `json:"lease"`
		}
		if json.Unmarshal(rec.Payload, &p) != nil || p.Lease == "" {
			continue
		}
		inmate, id, ok := parseLeaseToken(p.Lease)
		if !ok {
			h.opt.Log.Warn("a stored record carries a lease this gateway did not issue; ignored", "device", device, "seq", rec.Seq)
			continue
		}
		if err := h.opt.Ledger.ReleaseLease(ctx, facilityOf(device), inmate, id); err != nil {
			h.opt.Log.Error("ending the lease of a stored call failed: the inmate may call elsewhere only when it runs out", "device", device, "seq", rec.Seq, "err", err)
		}
	}
}

func (h *Handler) sync(ctx context.Context, device string, r *http.Request) (any, error) {
	var req protocol.SyncRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	limit := min(req.PageCards, protocol.MaxSyncPage) // 0: a booth from before paging, all in one
	d, err := h.opt.Ledger.RosterPage(ctx, facilityOf(device), req.RosterVersion, req.Cursor, limit)
	if err != nil {
		return nil, fmt.Errorf("roster of %s since %d after %q: %w", facilityOf(device), req.RosterVersion, req.Cursor, err)
	}
	out := protocol.SyncResponse{Version: d.Version, Full: d.Full, Upserts: make([]protocol.Card, 0, len(d.Upserts)), Deletes: []string{}, NextCursor: d.Next}
	if d.Policy != nil {
		out.Policy = json.RawMessage(d.Policy)
	}
	// The blocked list goes whole with the first page when it changed; it
	// counts against the page's budget (protocol.MaxBlocked keeps it well
	// under it).
	size := 0
	if !req.Numbers {
		// A booth from before numbers refuses fields it does not know.
		d.BlockedSent = false
		for i := range d.Upserts {
			d.Upserts[i].Numbers = nil
		}
	}
	if d.BlockedSent {
		out.Blocked = &protocol.BlockedList{Numbers: append([]string{}, d.Blocked...)}
		b, _ := json.Marshal(out.Blocked)
		size = len(b)
	}
	// Entries in card order (the ledger's byte order) until the page
	// reaches its byte budget: the booth refuses an answer over
	// MaxBodyBytes, whatever the length of the names. An inmate's card
	// counts with its numbers.
	entries, last := 0, ""
	for ui, di := 0, 0; ui < len(d.Upserts) || di < len(d.Deletes); {
		upsert := di == len(d.Deletes) || ui < len(d.Upserts) && d.Upserts[ui].Card < d.Deletes[di]
		var c protocol.Card
		var id string
		var n int
		if upsert {
			c = protocol.CardFromInfo(d.Upserts[ui])
			id = c.Card
			if limit > 0 {
				b, _ := json.Marshal(c)
				n = len(b) + 1
			}
		} else {
			id = d.Deletes[di]
			n = len(id) + 3
		}
		if limit > 0 && entries > 0 && size+n > protocol.SyncPageBytes {
			out.NextCursor = last
			break
		}
		if upsert {
			out.Upserts = append(out.Upserts, c)
			ui++
		} else {
			out.Deletes = append(out.Deletes, id)
			di++
		}
		size, last, entries = size+n, id, entries+1
	}
	return out, nil
}

func (h *Handler) authorise(ctx context.Context, device string, r *http.Request) (any, error) {
	var req protocol.AuthoriseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	facility := facilityOf(device)
	card, pol, err := h.lookup(ctx, facility, req.Card)
	if err != nil {
		return nil, err
	}
	var out protocol.AuthoriseResponse
	// The centre's clock and policy say which period a call is billed to;
	// the booth's key is only compared, since its clock may be wrong.
	period, ok := pol.period(h.opt.Now())
	if !ok {
		// Fail closed: without a policy there is no period to count a
		// balance in, so nothing to talk (docs/gateway.md).
		h.opt.Log.Warn("authorise refused: the facility has no policy; set one with wartel-gateway policy set", "facility", facility, "device", device)
		return out, nil
	}
	out.Period = period.Key
	if req.Period != period.Key {
		h.opt.Log.Warn("booth's period differs from the centre's: its clock (or policy) is wrong; the call is billed to the centre's",
			"device", device, "booth_period", req.Period, "period", period.Key)
	}
	if card == nil || card.Blocked || card.Role != record.RoleInmate || card.Person != req.Inmate {
		return out, nil // nothing to talk: the booth denies from its own roster reasons
	}
	allowance := card.Allowance
	if allowance == 0 {
		allowance = time.Duration(pol.AllowanceMs) * time.Millisecond
	}
	used, credit, err := h.opt.Ledger.Balance(ctx, facility, req.Inmate, period.Key)
	if err != nil {
		return nil, fmt.Errorf("balance of %s/%s in %s: %w", facility, req.Inmate, period.Key, err)
	}
	// Saturating: no sum of the ledger can wrap round to a huge balance.
	remaining := max(policy.SubSat(policy.AddSat(allowance, credit), used), 0)
	out.RemainingMs = remaining.Milliseconds()
	if remaining == 0 {
		return out, nil
	}
	ttl := policy.AddSat(remaining, h.opt.LeaseTTL)
	id, busy, err := h.opt.Ledger.AcquireLease(ctx, facility, req.Inmate, device, ttl, h.opt.Now())
	if err != nil {
		return nil, fmt.Errorf("lease for %s/%s at %s: %w", facility, req.Inmate, device, err)
	}
	out.Busy = busy
	if busy {
		return out, nil
	}
	// Read again now that the lease is ours. Another booth's call ends
	// its lease only once its record is stored, so a call whose lease we
	// now hold in its place is in this read; the first read may predate
	// it, and granted the inmate's minutes twice.
	used, credit, err = h.opt.Ledger.Balance(ctx, facility, req.Inmate, period.Key)
	if err != nil {
		h.releaseQuietly(ctx, facility, req.Inmate, id)
		return nil, fmt.Errorf("balance of %s/%s in %s: %w", facility, req.Inmate, period.Key, err)
	}
	remaining = min(remaining, max(policy.SubSat(policy.AddSat(allowance, credit), used), 0))
	out.RemainingMs = remaining.Milliseconds()
	if remaining == 0 {
		h.releaseQuietly(ctx, facility, req.Inmate, id)
		return out, nil
	}
	// The lease's TTL stays as acquired: longer than the call can be,
	// which only holds the inmate's other taps off a little longer.
	out.Lease, out.LeaseTTLMs = leaseToken(req.Inmate, id), ttl.Milliseconds()
	return out, nil
}

// releaseQuietly gives back a lease authorise acquired but does not hand
// out; if that fails, the lease lapses at its TTL.
func (h *Handler) releaseQuietly(ctx context.Context, facility, inmate, id string) {
	if err := h.opt.Ledger.ReleaseLease(ctx, facility, inmate, id); err != nil {
		h.opt.Log.Warn("a lease authorise did not hand out is not released; it lapses at its TTL", "facility", facility, "inmate", inmate, "err", err)
	}
}

// leaseToken makes the wire lease: the inmate and the ledger's lease id, so
// that a release finds the lease in any gateway replica without state of
// its own. The random id is what makes it unguessable.
func leaseToken(inmate, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(inmate)) + "." + id
}

func parseLeaseToken(tok string) (inmate, id string, ok bool) {
	enc, id, ok := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if !ok || err != nil || len(b) == 0 || id == "" {
		return "", "", false
	}
	return string(b), id, true
}

func (h *Handler) release(ctx context.Context, device string, r *http.Request) (any, error) {
	var req protocol.ReleaseRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	inmate, id, ok := parseLeaseToken(req.Lease)
	if !ok {
		return nil, refuse(http.StatusBadRequest, "lease", "lease %q was not issued by this gateway", req.Lease)
	}
	if err := h.opt.Ledger.ReleaseLease(ctx, facilityOf(device), inmate, id); err != nil {
		return nil, fmt.Errorf("release lease of %s/%s: %w", facilityOf(device), inmate, err)
	}
	return nil, nil
}

func (h *Handler) heartbeat(ctx context.Context, device string, r *http.Request) (any, error) {
	var req protocol.HeartbeatRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	now := h.opt.Now()
	hb := ledger.Heartbeat{
		Device: device, At: now, OutboxDepth: req.OutboxDepth, Firmware: req.Firmware, Faults: req.Faults,
		State: req.State, OutOfService: req.OutOfService, ClockTrusted: req.ClockTrusted,
		ClockOffset: time.Duration(req.ClockOffsetMs) * time.Millisecond, BootID: req.BootID,
		Chain: req.Chain, HeadSeq: req.HeadSeq, HeadHash: req.HeadHash,
		Source: sourceOf(r), Window: h.opt.OnlineWindow,
	}
	res, err := h.opt.Ledger.RecordHeartbeat(ctx, hb)
	if err != nil {
		return nil, fmt.Errorf("heartbeat of %s: %w", device, err)
	}
	h.metrics.seen(facilityOf(device))
	if res.NewClonePairs > 0 {
		h.metrics.clones.WithLabelValues(facilityOf(device)).Add(float64(res.NewClonePairs))
		h.opt.Log.Warn("clone suspected: one device identity heartbeats from two starts at once; revoke and re-enrol it (docs/pki.md)",
			"device", device, "boot_id", req.BootID, "source", hb.Source)
	}
	return protocol.HeartbeatResponse{ServerUnixMs: now.UnixMilli()}, nil
}

// sourceOf is the booth's address without its port: a restarted booth
// dials from a new port, a copy of it from another address.
func sourceOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
