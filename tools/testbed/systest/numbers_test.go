package systest

import (
	"context"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"wartelsuspas/kiosk/bundle"
	"wartelsuspas/kiosk/store"
	"wartelsuspas/kiosk/uplink"
)

// TestNumbersReachBooth: numbers registered at the real gateway (its
// binary, through the roster CSV and the numbers commands) reach a real
// booth store through the uplink's paged sync only once a supervisor
// approved them; a revoked one leaves the store, a blocked one never
// arrives (and the blocked list does), an unblocked one comes back.
func TestNumbersReachBooth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the wartel-gateway binary")
	}
	ctx := context.Background()
	rg := startRealGateway(t)
	f := []string{"-state", rg.state, "-facility", facility}
	cli := func(a ...string) string {
		t.Helper()
		return rg.gw(t, append(append(append([]string{}, a[:2]...), f...), a[2:]...)...)
	}
	csv := filepath.Join(rg.dir, "roster.csv")
	if err := os.WriteFile(csv, []byte("role,person,name,block,card,allowance_min,blocked,numbers\n"+
		"inmate,w1,Budi,A,em:0400D8B2A5,,,1:0812-3456-7890:ibu;2:+62 812 9876 5432:kakak\n"+
		"inmate,w1,Budi,A,em:0400D8B2A7,,,\n"+
		"inmate,w2,Andi,B,em:0400D8B2A6,,,1:081111111111:teman\n"+
		"officer,p1,Sari,,em:0A00000001,,,\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cli("roster", "import", "-by", "operator", csv)
	ids := map[string]string{} // E.164 → id
	for _, m := range regexp.MustCompile(`(?m)^(\d+)\s+\S+\s+(\+\d+)`).FindAllStringSubmatch(cli("numbers", "list"), -1) {
		ids[m[2]] = m[1]
	}
	if len(ids) != 3 {
		t.Fatalf("registered numbers %v, want 3", ids)
	}

	b, err := bundle.Read(filepath.Join(rg.dir, "b01"))
	if err != nil {
		t.Fatal(err)
	}
	conf, err := bundle.ClientTLSConfig(b, bundle.ClientOpts{ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	// Two stores of the booth: one syncs a page per card (the staged
	// path), the other whole answers (applied in one step).
	type booth struct {
		st *store.Store
		u  *uplink.Uplink
	}
	var booths []booth
	for _, page := range []int{1, uplink.DefaultSyncPageCards} {
		st, _ := newBooth(t, device, 0)
		u, err := uplink.New(uplink.Options{BaseURL: "https://" + rg.addr, HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: conf}},
			Store: st, SyncPageCards: page,
			BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond, Rand: rand.New(rand.NewPCG(1, 1)), Log: quietLog(), Firmware: "test"})
		if err != nil {
			t.Fatal(err)
		}
		booths = append(booths, booth{st, u})
	}
	st := booths[0].st
	held := func(when string, w1, w2, blocked []string) {
		t.Helper()
		for i, b := range booths {
			if err := b.u.Sync(ctx); err != nil {
				t.Fatalf("%s: booth %d: sync: %v", when, i, err)
			}
			for person, want := range map[string][]string{"w1": w1, "w2": w2} {
				if got := e164s(t, b.st, person); !slices.Equal(got, want) {
					t.Fatalf("%s: booth %d holds %v for %s, want %v", when, i, got, person, want)
				}
			}
			got, err := b.st.BlockedNumbers()
			if err != nil || !slices.Equal(got, blocked) {
				t.Fatalf("%s: booth %d's blocked list %v (%v), want %v", when, i, got, err, blocked)
			}
			for _, e := range blocked {
				if ok, err := b.st.NumberBlocked(e); !ok || err != nil {
					t.Fatalf("%s: booth %d: NumberBlocked(%s) false (%v)", when, i, e, err)
				}
			}
		}
	}
	const ibu, kakak, teman = "+6281234567890", "+6281298765432", "+6281111111111"
	held("registered, not approved", nil, nil, nil)

	cli("numbers", "approve", "-by", "supervisor", ids[ibu])
	cli("numbers", "approve", "-by", "supervisor", ids[kakak])
	cli("numbers", "block", "-by", "supervisor", "-reason", "victim", teman)
	held("approved two, blocked the third", []string{ibu, kakak}, nil, []string{teman})
	ns, err := st.Numbers("w1")
	if err != nil || ns[0].Slot != 1 || ns[0].Label != "ibu" || ns[0].RegisteredBy != "operator" || ns[0].ApprovedBy != "supervisor" || ns[0].Person != "w1" {
		t.Fatalf("number held %+v, %v", ns, err)
	}
	if _, _, err := rg.run("numbers", "approve", "-state", rg.state, "-facility", facility, "-by", "supervisor", ids[teman]); err == nil {
		t.Fatal("a blocked number was approved")
	}

	cli("numbers", "revoke", "-by", "supervisor", "-reason", "moved away", ids[kakak])
	held("revoked one", []string{ibu}, nil, []string{teman})

	cli("numbers", "block", "-by", "supervisor", "-reason", "witness", ibu)
	held("blocked an approved one", nil, nil, []string{teman, ibu})

	cli("numbers", "unblock", "-by", "supervisor", teman)
	held("unblocked one never approved: the list alone", nil, nil, []string{ibu})
	cli("numbers", "unblock", "-by", "supervisor", ibu)
	held("unblocked", []string{ibu}, nil, []string{})
	if v, _ := st.RosterVersion(); v == 0 {
		t.Fatal("the booth holds no roster version")
	}
}

func e164s(t *testing.T, st *store.Store, person string) []string {
	t.Helper()
	ns, err := st.Numbers(person)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range ns {
		out = append(out, n.E164)
	}
	return out
}
