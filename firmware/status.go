package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"wartelsuspas/drivers/modem"
	"wartelsuspas/drivers/rfid"
	"wartelsuspas/firmware/config"
	"wartelsuspas/firmware/i18n"
	"wartelsuspas/kiosk/session"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
)

func init() {
	commands["status"] = command{run: statusCmd, help: "status [-json]: ask the running daemon what the booth is doing"}
}

// defaultStatusSocket is where the daemon answers `wartel-kiosk status`
// (systemd's RuntimeDirectory=wartel).
const defaultStatusSocket = "/run/wartel/kiosk.sock"

// statusDoc is the one JSON document the status socket answers.
type statusDoc struct {
	Device   string     `json:"device"`
	Firmware string     `json:"firmware"`
	Lang     string     `json:"lang"`
	Session  sessionDoc `json:"session"`
	Reader   rfid.Stats `json:"reader"`
	// Modem is the module's state; absent on a relay-only booth.
	Modem   *modem.Status `json:"modem,omitempty"`
	Gateway gatewayDoc    `json:"gateway"`
	Outbox  int           `json:"outbox_depth"`
	Taken   time.Time     `json:"taken"`
	// BootID names this start of the daemon; Activity's seqs count from 1
	// at each start.
	BootID string `json:"boot_id"`
	// Activity is what the booth did lately, oldest first (activityDoc).
	Activity []activityDoc `json:"activity"`
}

// sessionDoc is the engine's Status with the card id shortened, as the
// info-level logs show it.
type sessionDoc struct {
	State         session.State   `json:"state"`
	Card          string          `json:"card,omitempty"`
	Inmate        string          `json:"inmate,omitempty"`
	CallID        int64           `json:"call_id,omitempty"`
	LeftMs        int64           `json:"left_ms"`
	OutOfService  []session.Cause `json:"out_of_service,omitempty"`
	ClockTrusted  bool            `json:"clock_trusted"`
	OffHook       bool            `json:"off_hook"`
	HookSuspect   bool            `json:"hook_suspect"`
	Calls         int             `json:"calls"`
	Denials       int             `json:"denials"`
	OfficerActs   int             `json:"officer_acts"`
	PendingCloses int             `json:"pending_closes"`
	Unrecorded    int             `json:"unrecorded"`
}

// gatewayDoc is the uplink's Status; Configured is false for a booth that
// runs standalone.
type gatewayDoc struct {
	Configured    bool      `json:"configured"`
	Online        bool      `json:"online"`
	LastSuccess   time.Time `json:"last_success"`
	LastSync      time.Time `json:"last_sync"`
	ClockOffsetMs int64     `json:"clock_offset_ms"`
	ClockKnown    bool      `json:"clock_known"`
	LastError     string    `json:"last_error,omitempty"`
	Uploaded      uint64    `json:"uploaded"`
}

// snapshot gathers the status of every part.
func snapshot(cfg *config.Config, eng *session.Engine, r *rfid.Reader, up *uplink.Uplink, st *store.Store, bootID string, act *activityRing) statusDoc {
	s := eng.Status()
	d := statusDoc{
		Device: cfg.Device, Firmware: version, Lang: cfg.Lang(), Taken: time.Now(),
		BootID: bootID, Activity: act.recent(),
		Session: sessionDoc{
			State: s.State, Inmate: s.Inmate, CallID: s.CallID, LeftMs: s.Left.Milliseconds(),
			OutOfService: s.OutOfService, ClockTrusted: s.ClockTrusted, OffHook: s.OffHook, HookSuspect: s.HookSuspect, Calls: s.Calls, Denials: s.Denials,
			OfficerActs: s.OfficerActs, PendingCloses: s.PendingCloses, Unrecorded: s.Unrecorded,
		},
		Reader: r.Stats(),
	}
	if s.Card != "" {
		d.Session.Card = st.CardTags().Tag(s.Card)
	}
	if up != nil {
		u := up.Status()
		d.Gateway = gatewayDoc{Configured: true, Online: u.Online, LastSuccess: u.LastSuccess, LastSync: u.LastSync,
			ClockOffsetMs: u.ClockOffset.Milliseconds(), ClockKnown: u.ClockKnown, LastError: u.LastError, Uploaded: u.Uploaded}
	}
	if n, err := st.Depth(); err == nil {
		d.Outbox = n
	}
	return d
}

// statusServer answers one statusDoc per connection on a unix socket.
type statusServer struct {
	ln   net.Listener
	doc  func() statusDoc // set before serve
	log  *slog.Logger
	path string
}

// listenStatus opens the socket at path, mode 0660 (root and the daemon's
// group). A socket left by a killed daemon is replaced.
func listenStatus(path string, log *slog.Logger) (*statusServer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("status socket directory: %w: set RuntimeDirectory=wartel in the unit or pass -status-socket", err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("status socket %s: another wartel-kiosk daemon answers on it: stop it first (systemctl stop wartel-kiosk)", path)
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("status socket: %w: pass -status-socket with a writable path", err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("status socket: %w", err)
	}
	return &statusServer{ln: ln, log: log, path: path}, nil
}

// serve answers until close.
func (s *statusServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("status socket stopped answering", "socket", s.path, "err", err)
			}
			return
		}
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if err := json.NewEncoder(c).Encode(s.doc()); err != nil {
			s.log.Debug("status request not answered", "err", err)
		}
		c.Close()
	}
}

func (s *statusServer) close() { s.ln.Close() }

func statusCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("status-socket", defaultStatusSocket, "the daemon's status socket")
	asJSON := fs.Bool("json", false, "print the daemon's JSON document as is")
	lang := fs.String("lang", "", "language of the page: id or en (default: the booth's configured language)")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	raw, err := queryStatus(*path)
	if err != nil {
		return err
	}
	if *asJSON {
		_, err := stdout.Write(raw)
		return err
	}
	var d statusDoc
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("the daemon on %s sent an unreadable status: %w", *path, err)
	}
	l := d.Lang
	if *lang != "" {
		l = *lang
	}
	printStatus(stdout, i18n.New(l), d)
	return nil
}

// queryStatus reads the daemon's document.
func queryStatus(path string) ([]byte, error) {
	c, err := net.DialTimeout("unix", path, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("no daemon on %s: is wartel-kiosk running? systemctl status wartel-kiosk (%w)", path, err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, err := io.ReadAll(c)
	if err != nil {
		return nil, fmt.Errorf("reading the status from %s: %w", path, err)
	}
	return raw, nil
}

// printStatus writes the page a technician reads.
func printStatus(w io.Writer, c *i18n.Catalogue, d statusDoc) {
	fmt.Fprintf(w, "%s (%s)\n", d.Device, d.Firmware)
	fmt.Fprintf(w, "%s: %s\n", c.T("status.state"), c.State(string(d.Session.State)))
	if d.Session.State == session.StateTalking || d.Session.State == session.StateGranted {
		fmt.Fprintln(w, c.T("status.time_left", (time.Duration(d.Session.LeftMs)*time.Millisecond).String()))
	}
	if d.Reader.Up {
		fmt.Fprintln(w, c.T("status.reader_up"))
	} else {
		fmt.Fprintln(w, c.T("status.reader_down", d.Reader.LastErr))
	}
	if d.Session.HookSuspect {
		key := "status.hook_stuck_down"
		if d.Session.OffHook {
			key = "status.hook_stuck_up"
		}
		fmt.Fprintln(w, c.T(key))
	}
	if m := d.Modem; m != nil {
		if m.Up {
			fmt.Fprintln(w, c.T("status.modem_up", m.Operator, m.RSSI))
		} else {
			fmt.Fprintln(w, c.T("status.modem_down", string(m.Cause), m.Err))
		}
	}
	if d.Gateway.Configured {
		if d.Gateway.Online {
			fmt.Fprintln(w, c.T("status.gateway_online"))
		} else {
			fmt.Fprintln(w, c.T("status.gateway_offline", stamp(c, d.Gateway.LastSuccess)))
		}
		if d.Gateway.ClockKnown {
			fmt.Fprintln(w, c.T("status.clock_offset", (time.Duration(d.Gateway.ClockOffsetMs)*time.Millisecond).String()))
		}
		fmt.Fprintln(w, c.T("status.last_sync", stamp(c, d.Gateway.LastSync)))
	}
	fmt.Fprintln(w, c.T("status.outbox", d.Outbox))
}

func stamp(c *i18n.Catalogue, t time.Time) string {
	if t.IsZero() {
		return c.T("status.never")
	}
	return t.Format(time.DateTime)
}
