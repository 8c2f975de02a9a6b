package spool

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/mamori/mamori/internal/wire"
)

var reportedR, reportedS uint64

func appendN(t *testing.T, s *Spool, n, results, samples int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := 0; i < n; i++ {
		seq, _, err := s.Append(func(seq, dr, ds uint64) ([]byte, uint32, uint32, error) {
			b := wire.Batch{Seq: seq, Sent: 1, DroppedResults: dr, DroppedSamples: ds}
			reportedR += dr
			reportedS += ds
			for j := 0; j < results; j++ {
				b.Results = append(b.Results, wire.Result{Check: "c", Output: "some output that takes room in the batch"})
			}
			for j := 0; j < samples; j++ {
				b.Samples = append(b.Samples, wire.Sample{Name: "node_load1", Time: int64(seq*1000 + uint64(j)), Value: float64(j)})
			}
			gz, err := json.Marshal(&b)
			return gz, uint32(results), uint32(samples), err
		})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func TestSpoolOrderAckRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	seqs := appendN(t, s, 5, 1, 10)
	if seqs[0] != 1 || seqs[4] != 5 {
		t.Fatal(seqs)
	}
	rec, ok, _ := s.Oldest()
	if !ok || rec.Seq != 1 {
		t.Fatal(rec.Seq)
	}
	b, err := decodeBatch(rec.Payload)
	if err != nil || b.Seq != 1 || len(b.Samples) != 10 {
		t.Fatal(b, err)
	}
	s.Ack(3)
	rec, _, _ = s.Oldest()
	if rec.Seq != 4 {
		t.Fatal(rec.Seq)
	}
	s.Close()

	// Restart: the same pending records, Seq continues.
	s2, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.Pending(); n != 2 {
		t.Fatalf("pending %d", n)
	}
	if got := appendN(t, s2, 1, 0, 1); got[0] != 6 {
		t.Fatal(got)
	}
	s2.Ack(6)
	if n, b := s2.Pending(); n != 0 || b != 0 {
		t.Fatalf("after full ack: %d batches %d bytes", n, b)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "seg-*.log")); len(files) != 0 {
		t.Fatalf("acknowledged segments left: %v", files)
	}
	s2.Close()
	// Every segment gone: the index still carries the Seq.
	s3, _ := OpenSpool(dir, 1<<20)
	if got := appendN(t, s3, 1, 0, 1); got[0] != 7 {
		t.Fatalf("seq after all segments were deleted: %d", got[0])
	}
	s3.Close()
}

func TestSpoolTornTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenSpool(dir, 1<<20)
	appendN(t, s, 3, 1, 1)
	s.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	f, _ := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{200, 0, 0, 0, 1, 2, 3}) // a record cut by a crash
	f.Close()
	s2, err := OpenSpool(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.Pending(); n != 3 {
		t.Fatalf("pending %d", n)
	}
	if got := appendN(t, s2, 1, 1, 1); got[0] != 4 {
		t.Fatal(got)
	}
	s2.Close()
	s3, _ := OpenSpool(dir, 1<<20)
	if n, _ := s3.Pending(); n != 4 {
		t.Fatalf("after torn tail + append: %d", n)
	}
	s3.Close()
}

func TestSpoolBound(t *testing.T) {
	s, _ := OpenSpool(t.TempDir(), 64<<10)
	reportedR, reportedS = 0, 0
	appendN(t, s, 120, 20, 200)
	r, smp := s.Dropped()
	if r == 0 || smp != r*10 {
		t.Fatalf("dropped %d results %d samples", r, smp)
	}
	_, bytes := s.Pending()
	if bytes > 64<<10+s.segMax {
		t.Fatalf("%d bytes over a 64KiB bound", bytes)
	}
	// Every drop is reported in a later batch, or still waiting for the next.
	var got wire.Batch
	s.Append(func(seq, dr, ds uint64) ([]byte, uint32, uint32, error) {
		got = wire.Batch{Seq: seq, DroppedResults: dr, DroppedSamples: ds}
		gz, err := encodeBatch(&got)
		return gz, 0, 0, err
	})
	if reportedR+got.DroppedResults != r || reportedS+got.DroppedSamples != smp {
		t.Fatalf("reported %d+%d results, dropped %d", reportedR, got.DroppedResults, r)
	}
	if s.HasUnreportedDrops() {
		t.Fatal("counts not reset after being reported")
	}
	rec, _, _ := s.Oldest()
	if rec.Seq == 1 {
		t.Fatal("oldest not dropped")
	}
	s.Close()
}

func encodeBatch(b *wire.Batch) ([]byte, error) { return json.Marshal(b) }

func decodeBatch(p []byte) (*wire.Batch, error) {
	var b wire.Batch
	err := json.Unmarshal(p, &b)
	return &b, err
}
