package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Wrong passwords from one client slow that client down; they never lock
// the account: the right password works from a client that has not been
// failing, at once.
func TestWrongPasswordsDoNotLockTheAccount(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.user(t, "alice", RoleViewer, "acme")
	const good = "correct horse battery"
	for i := range 6 {
		f.clock.add(time.Minute) // the delay each failure earned has passed
		if _, err := f.svc.Login(ctx, "alice", "wrong password!", "198.51.100.66"); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if _, err := f.svc.Login(ctx, "alice", good, "203.0.113.9"); err != nil {
		t.Fatalf("the right password from another address: %v", err)
	}
	// The failing client itself waits a growing delay, then may try again.
	if _, err := f.svc.Login(ctx, "alice", good, "198.51.100.66"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("the failing client is not slowed down: %v", err)
	}
}

// Over the account's ceiling (a distributed attack), clients unknown to
// the account wait; the user's own device is slowed down, never refused.
// Every attempt is recorded.
func TestAccountCeilingKnownDevice(t *testing.T) {
	f := newFixture(t, WithRateLimit(RateLimit{AccountMax: 10, KnownSlow: 2 * time.Second}))
	var slept []time.Duration
	f.svc.sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	ctx := context.Background()
	f.user(t, "alice", RoleViewer, "acme")
	f.user(t, "bob", RoleViewer, "acme")
	const good = "correct horse battery"
	_, dev, err := f.svc.LoginFrom(ctx, LoginRequest{Name: "alice", Password: good, IP: "203.0.113.9"})
	if err != nil || dev == "" {
		t.Fatalf("first login: %q %v", dev, err)
	}
	_, bobDev, _ := f.svc.LoginFrom(ctx, LoginRequest{Name: "bob", Password: good, IP: "203.0.113.10"})
	// a botnet: one guess from each of 10 addresses
	for i := range 10 {
		if _, err := f.svc.Login(ctx, "alice", "wrong password!", fmt.Sprintf("198.51.100.%d", i+1)); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if n := f.svc.AccountFailures("ALICE"); n != 10 {
		t.Errorf("account failures %d, want 10", n)
	}
	// an unknown client with the right password waits
	if _, err := f.svc.Login(ctx, "alice", good, "192.0.2.50"); !errors.Is(err, ErrRateLimited) {
		t.Fatalf("unknown client over the ceiling: %v", err)
	}
	for _, forged := range []string{dev[:len(dev)-1] + "x", bobDev, "garbage"} {
		if _, _, err := f.svc.LoginFrom(ctx, LoginRequest{Name: "alice", Password: good, IP: "192.0.2.51", Device: forged}); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("forged or another user's device %q counts as known: %v", forged, err)
		}
	}
	// alice's device, even from an attacking address: slowed, not refused
	_, dev2, err := f.svc.LoginFrom(ctx, LoginRequest{Name: "alice", Password: good, IP: "198.51.100.1", Device: dev})
	if err != nil || dev2 != dev {
		t.Fatalf("known device over the ceiling: %v (device %q)", err, dev2)
	}
	if len(slept) != 1 || slept[0] != 2*time.Second {
		t.Errorf("known device slowed by %v, want once 2s", slept)
	}
	// the record: who, when, from where, known or not, the outcome
	as, err := f.svc.LoginAttempts(ctx, "Alice", 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, a := range as {
		count[a.Outcome]++
		if a.IP == "" || a.Time.IsZero() {
			t.Errorf("attempt without address or time: %+v", a)
		}
	}
	if count[LoginFailure] != 10 || count[LoginSuccess] != 2 || count[LoginThrottled] == 0 {
		t.Errorf("recorded %v", count)
	}
	if as[0].Outcome != LoginSuccess || !as[0].Known || as[0].Delay != 2*time.Second || as[0].IP != "198.51.100.1" {
		t.Errorf("latest attempt %+v", as[0])
	}
	all, _ := f.svc.LoginAttempts(ctx, "", 100)
	if len(all) <= len(as) {
		t.Errorf("everyone's attempts: %d, alice's %d", len(all), len(as))
	}
}
