package sessiontest

import (
	"testing"
	"time"

	"wartelsuspas/kiosk/record"
)

// closeCall journals and closes one call of inmate in period charged ms.
func closeCall(t *testing.T, s *Store, inmate, period string, ms int64, offline bool) {
	t.Helper()
	c := record.Call{Card: "em:" + inmate, Inmate: inmate, Period: period, Offline: offline}
	id, err := s.OpenCall(c)
	if err != nil {
		t.Fatal(err)
	}
	c.CallID, c.TalkedMs, c.ChargedMs, c.EndReason = id, ms, ms, record.EndHangup
	if _, err := s.CloseCall(c); err != nil {
		t.Fatal(err)
	}
}

// TestUsageCountsSinceCentreAndAck: the offline view counts the records
// of their own inmate and period above the seq the centre's answer was
// given to count (at most the acknowledged head), and the unconfirmed
// charges after the last Ack; as kiosk/store does.
func TestUsageCountsSinceCentreAndAck(t *testing.T) {
	s := NewStore("test/usage")
	closeCall(t, s, "a", "p1", 1000, true)
	closeCall(t, s, "a", "p1", 2000, false)
	closeCall(t, s, "b", "p1", 4000, true)
	closeCall(t, s, "a", "p2", 8000, true) // #4
	check := func(step, inmate, period string, want record.Usage) record.Usage {
		t.Helper()
		got, err := s.Usage(inmate, period)
		if err != nil {
			t.Fatal(err)
		}
		got.LastEnd = time.Time{}
		if got != want {
			t.Errorf("%s: Usage(%s, %s) = %+v, want %+v", step, inmate, period, got, want)
		}
		return got
	}
	check("no answer", "a", "p1", record.Usage{Used: 3 * time.Second, OfflineUsed: time.Second, Unconfirmed: 3 * time.Second})

	s.Ack()
	closeCall(t, s, "a", "p1", 700, true) // #5
	// The booth reads the usage, asks the centre, and while the answer is
	// on its way an upload with #6 is confirmed: #5 and #6 count since.
	read := check("before asking", "a", "p1", record.Usage{Used: 3700 * time.Millisecond, OfflineUsed: 1700 * time.Millisecond,
		Unconfirmed: 700 * time.Millisecond, Confirmed: 4})
	closeCall(t, s, "a", "p1", 300, true) // #6
	s.Ack()
	if err := s.SetCentreBalance("a", "p1", time.Minute, read.Confirmed); err != nil {
		t.Fatal(err)
	}
	closeCall(t, s, "b", "p1", 300, true) // #7
	if _, err := s.Officer(record.Officer{Officer: "o", Action: record.ActionGrant, Inmate: "a", Period: "p1", CreditMs: 10000}); err != nil {
		t.Fatal(err)
	}
	check("after the answer", "a", "p1", record.Usage{Used: 4 * time.Second, Granted: 10 * time.Second,
		Centre: true, CentreRemaining: 69 * time.Second, OfflineUsed: time.Second, Confirmed: 6})
	check("another inmate", "b", "p1", record.Usage{Used: 4300 * time.Millisecond, OfflineUsed: 4300 * time.Millisecond,
		Unconfirmed: 300 * time.Millisecond, Confirmed: 6})

	s.Ack()
	closeCall(t, s, "a", "p1", 100, false) // #9
	check("after the ack", "a", "p1", record.Usage{Used: 4100 * time.Millisecond, Granted: 10 * time.Second,
		Centre: true, CentreRemaining: 68900 * time.Millisecond, OfflineUsed: time.Second, Unconfirmed: 100 * time.Millisecond, Confirmed: 8})
	// counted is never taken beyond the acknowledged head: #9 is not
	// confirmed, so it counts since a newer answer.
	if err := s.SetCentreBalance("a", "p1", time.Minute, 100); err != nil {
		t.Fatal(err)
	}
	check("a counted ahead of the head", "a", "p1", record.Usage{Used: 4100 * time.Millisecond, Granted: 10 * time.Second,
		Centre: true, CentreRemaining: 59900 * time.Millisecond, Unconfirmed: 100 * time.Millisecond, Confirmed: 8})
	if got, err := s.OfficerCredits("o", time.Time{}); err != nil || got != 10*time.Second {
		t.Errorf("OfficerCredits = %v, %v; want 10s", got, err)
	}
}

// TestUsageCostIsConstant: Usage does not go through the records, so
// its cost on a store of 2,000 calls is its cost on one of 10 (the bench
// runs 20,000 calls through this store). Allocations stand for the cost:
// they are deterministic where time is not.
func TestUsageCostIsConstant(t *testing.T) {
	allocs := func(calls int) float64 {
		s := NewStore("test/cost")
		for range calls {
			closeCall(t, s, "a", "p", 1000, true)
		}
		return testing.AllocsPerRun(20, func() {
			if _, err := s.Usage("a", "p"); err != nil {
				t.Fatal(err)
			}
		})
	}
	if few, many := allocs(10), allocs(2000); many != few {
		t.Errorf("Usage allocates %v times on a store of 10 calls, %v on one of 2000: it walks the records", few, many)
	}
}
