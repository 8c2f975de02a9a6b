package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

func testLoginAttempts(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, a := range []auth.LoginAttempt{
		{User: "alice", Time: t0, IP: "198.51.100.1", Outcome: auth.LoginFailure},
		{User: "Alice", Time: t0.Add(time.Second), IP: "198.51.100.1", Outcome: auth.LoginThrottled, Delay: 1500 * time.Millisecond},
		{User: "bob", Time: t0.Add(2 * time.Second), IP: "203.0.113.9", Known: true, Outcome: auth.LoginSuccess},
	} {
		if err := s.AuthRecordLogin(ctx, a); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	as, err := s.AuthLoginAttempts(ctx, "ALICE", 10)
	if err != nil || len(as) != 2 || as[0].Outcome != auth.LoginThrottled || as[0].Delay != 1500*time.Millisecond || !as[1].Time.Equal(t0) {
		t.Fatalf("alice's attempts: %+v %v", as, err)
	}
	all, _ := s.AuthLoginAttempts(ctx, "", 10)
	if len(all) != 3 || all[0].User != "bob" || !all[0].Known {
		t.Fatalf("all attempts: %+v", all)
	}
	if n, err := s.AuthPruneLoginAttempts(ctx, t0.Add(time.Second)); err != nil || n != 1 {
		t.Fatalf("prune: %d %v", n, err)
	}
}
