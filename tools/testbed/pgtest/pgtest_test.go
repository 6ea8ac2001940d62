package pgtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wartelsuspas/tools/testbed/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func query(t *testing.T, dsn, q string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// Each DB is its own database on one shared server.
func TestDBIsolated(t *testing.T) {
	a, b := pgtest.DB(t), pgtest.DB(t)
	if a == b {
		t.Fatalf("two DB calls gave one DSN %s", a)
	}
	na, nb := query(t, a, "SELECT current_database()"), query(t, b, "SELECT current_database()")
	if na == nb {
		t.Errorf("both DSNs reach database %s", na)
	}
	if !strings.HasPrefix(a, "postgres://postgres@127.0.0.1:") || a[:strings.LastIndex(a, "/")] != b[:strings.LastIndex(b, "/")] {
		t.Errorf("DSNs %s and %s are not on one shared loopback server", a, b)
	}
	// The server runs with fsync off: fast and throwaway.
	if got := query(t, a, "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %s, want off", got)
	}
}

// Start gives a server of its own, gone after the test.
func TestStart(t *testing.T) {
	var dsn string
	t.Run("own", func(t *testing.T) {
		dsn = pgtest.Start(t)
		if got := query(t, dsn, "SELECT 'up'"); got != "up" {
			t.Fatalf("got %q", got)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, dsn); err == nil {
		conn.Close(ctx)
		t.Fatalf("server at %s still answers after its test ended", dsn)
	}
}
