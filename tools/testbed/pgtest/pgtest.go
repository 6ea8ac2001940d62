// Package pgtest starts throwaway PostgreSQL servers for tests, from
// Debian's postgresql binaries (initdb, pg_ctl), in a temporary directory.
//
// A package shares one server through Main and gives each test its own
// database with DB:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) { dsn := pgtest.DB(t); … }
//
// Missing binaries fail the test with what to run; WARTEL_SKIP_PG=1 skips
// instead, for a developer machine without PostgreSQL.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SkipEnv names the variable that skips PostgreSQL tests when set to 1.
const SkipEnv = "WARTEL_SKIP_PG"

// startTimeout bounds initdb and pg_ctl on a loaded machine; it only
// bounds a hang.
const startTimeout = 2 * time.Minute

// Server is a running throwaway PostgreSQL.
type Server struct {
	dir  string // temporary directory: data/, sock/, log
	port int
	bin  string
	cred *syscall.Credential // nil unless we are root
}

// DSN returns the URL of database name on the server, as the superuser
// "postgres" with trust authentication.
func (s *Server) DSN(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, name)
}

// Stop stops the server (pg_ctl stop -m fast) and removes its directory.
func (s *Server) Stop() error {
	out, err := s.run(context.Background(), "pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "fast", "-w", "stop")
	rmErr := os.RemoveAll(s.dir)
	if err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop in %s: %w\n%s", s.dir, err, out)
	}
	return rmErr
}

// debianBin is where Debian's postgresql-NN packages put the binaries.
var debianBin = "/usr/lib/postgresql/*/bin"

// Bin finds the directory holding initdb and pg_ctl: on PATH, else the
// newest /usr/lib/postgresql/*/bin.
func Bin() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob(debianBin)
	best, bestV := "", -1
	for _, d := range dirs {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if _, err := os.Stat(filepath.Join(d, "pg_ctl")); err == nil && v > bestV {
			best, bestV = d, v
		}
	}
	if best == "" {
		return "", errors.New("pgtest: initdb and pg_ctl not found on PATH nor in /usr/lib/postgresql/*/bin: run tools/release/ci/deps.sh (make test does), or set " + SkipEnv + "=1 to skip PostgreSQL tests")
	}
	return best, nil
}

// NewServer initialises and starts a server in a new temporary directory.
// PostgreSQL refuses to run as root, so as root the directory is given to
// the postgres system user and the binaries run as that user.
func NewServer() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	s := &Server{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: running as root and no postgres user to run PostgreSQL as (%w): run tools/release/ci/deps.sh", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("pgtest: chown %s to postgres: %w", dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	data, sock := filepath.Join(dir, "data"), filepath.Join(dir, "sock")
	if out, err := s.run(ctx, "initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: initdb in %s: %w\n%s", dir, err, out)
	}
	if out, err := s.run(ctx, "mkdir", sock); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgtest: mkdir %s: %w\n%s", sock, err, out)
	}
	// The free port can be taken between our probe and the server's bind:
	// try a few.
	var lastErr error
	for range 5 {
		if s.port, err = freePort(); err != nil {
			lastErr = err
			continue
		}
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", s.port, sock)
		out, err := s.run(ctx, "pg_ctl", "-D", data, "-l", filepath.Join(dir, "log"), "-w", "-t", "100", "-o", opts, "start")
		if err == nil {
			return s, nil
		}
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		lastErr = fmt.Errorf("pg_ctl start on port %d: %w\n%s\n%s", s.port, err, out, log)
	}
	os.RemoveAll(dir)
	return nil, fmt.Errorf("pgtest: in %s: %w", dir, lastErr)
}

func (s *Server) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	path := name
	if name != "mkdir" {
		path = filepath.Join(s.bin, name)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
		cmd.Dir = "/"
	}
	return cmd.CombinedOutput()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts a server of its own for t, stopped in t.Cleanup, and
// returns the DSN of its "postgres" database.
func Start(t testing.TB) string {
	t.Helper()
	skipIfAsked(t)
	s, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s.DSN("postgres")
}

func skipIfAsked(t testing.TB) {
	if os.Getenv(SkipEnv) == "1" {
		t.Skip("PostgreSQL tests skipped: " + SkipEnv + "=1")
	}
}

// The package's shared server, started by the first DB call under Main.
var (
	shared struct {
		sync.Mutex
		s      *Server
		err    error
		inMain bool
	}
	dbCounter atomic.Int64
)

// Main runs the package's tests and then stops the shared server, if one
// was started. Call it from TestMain.
func Main(m *testing.M) {
	shared.Lock()
	shared.inMain = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.s != nil {
		if err := shared.s.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = max(code, 1)
		}
	}
	shared.Unlock()
	os.Exit(code)
}

// DB creates a database of its own for t, on the package's shared server
// when the package uses Main (else on a server of t's own), and returns its
// DSN.
func DB(t testing.TB) string {
	t.Helper()
	skipIfAsked(t)
	shared.Lock()
	if !shared.inMain {
		shared.Unlock()
		return createDB(t, Start(t))
	}
	if shared.s == nil && shared.err == nil {
		shared.s, shared.err = NewServer()
	}
	s, err := shared.s, shared.err
	shared.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	return createDB(t, s.DSN("postgres"))
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

func createDB(t testing.TB, adminDSN string) string {
	t.Helper()
	name := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	name = fmt.Sprintf("t%d_%.40s", dbCounter.Add(1), name)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminDSN)
	if err != nil {
		t.Fatalf("pgtest: connect %s: %v", adminDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	i := strings.LastIndex(adminDSN, "/postgres?")
	return adminDSN[:i] + "/" + name + adminDSN[i+len("/postgres"):]
}
