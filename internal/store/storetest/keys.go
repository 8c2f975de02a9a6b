package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
)

// testSharedKey: a key is made once and the same for every caller, also
// for callers racing to create it and after a reopen (another server).
func testSharedKey(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	keys := make([][]byte, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := s.SharedKey(ctx, "session")
			if err != nil {
				t.Errorf("key %d: %v", i, err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("key %d = %x, want the first one %x", i, k, keys[0])
		}
	}
	other, err := s.SharedKey(ctx, "ack-links")
	if err != nil || bytes.Equal(other, keys[0]) {
		t.Fatalf("a second name must have its own key: %x %v", other, err)
	}
	s.Close()
	again, err := open(t).SharedKey(ctx, "session")
	if err != nil || !bytes.Equal(again, keys[0]) {
		t.Fatalf("after a reopen: %x %v, want %x", again, err, keys[0])
	}
}
