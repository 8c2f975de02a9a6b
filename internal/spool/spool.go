// Package spool is a bounded, append-only, fsynced queue of records on disk
// with a per-record sequence number and acknowledgement: the agent keeps
// its batches in it while the server is unreachable, a poller its results
// while the broker is.
package spool

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/mamori/mamori/internal/wire"
)

// The spool keeps every batch on disk before it is sent: append-only
// segment files of records, each record one batch
//
//	u32 payload length | u32 CRC-32C of the rest | u64 seq | u32 results | u32 samples | payload (gzip JSON wire.Batch)
//
// and a small index (spool.idx, JSON, written atomically) with the highest
// acknowledged Seq, the last Seq handed out and the drop counters not yet
// reported. Appends are fsynced. A segment is deleted once every record in
// it is acknowledged. Over the size bound the oldest segments are dropped
// and what they held is counted into the next batch. A torn record at the
// end of a segment (a crash mid-write) is cut off when the spool opens.
type Spool struct {
	dir    string
	max    int64
	segMax int64

	mu       sync.Mutex
	segs     []*segment // oldest first; the last one is written to
	acked    uint64
	lastSeq  uint64
	dropRes  uint64 // dropped and not yet reported in a batch
	dropSmp  uint64
	totalDRs uint64 // dropped since start (for logs and tests)
	totalDSs uint64
	bytes    int64
}

type segment struct {
	path  string
	f     *os.File // open for append (the last segment only)
	size  int64
	recs  []recMeta
	first uint64
}

type recMeta struct {
	seq       uint64
	off       int64
	n         int
	res, smps uint32
}

const recHeader = 24

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type spoolIndex struct {
	Acked          uint64 `json:"acked"`
	LastSeq        uint64 `json:"last_seq"`
	DroppedResults uint64 `json:"dropped_results"`
	DroppedSamples uint64 `json:"dropped_samples"`
}

// Record is one spooled record (an agent's batch, a poller's result).
type Record struct {
	Seq     uint64
	Payload []byte // gzip JSON of the wire.Batch (with this Seq)
}

// OpenSpool opens (or creates) the spool in dir, bounded to maxBytes.
func OpenSpool(dir string, maxBytes int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	segMax := min(max(maxBytes/16, 4<<10), 1<<20)
	s := &Spool{dir: dir, max: maxBytes, segMax: segMax}
	if b, err := os.ReadFile(s.indexPath()); err == nil {
		var idx spoolIndex
		if err := json.Unmarshal(b, &idx); err == nil {
			s.acked, s.lastSeq, s.dropRes, s.dropSmp = idx.Acked, idx.LastSeq, idx.DroppedResults, idx.DroppedSamples
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "seg-") && strings.HasSuffix(e.Name(), ".log") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names) // zero-padded first seq: lexical = numeric
	for _, n := range names {
		seg, err := s.scan(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		if seg == nil {
			continue
		}
		if len(seg.recs) > 0 && seg.recs[len(seg.recs)-1].seq > s.lastSeq {
			s.lastSeq = seg.recs[len(seg.recs)-1].seq
		}
		// Fully acknowledged segments left by a crash go now.
		if len(seg.recs) == 0 || seg.recs[len(seg.recs)-1].seq <= s.acked {
			os.Remove(seg.path)
			continue
		}
		s.segs = append(s.segs, seg)
		s.bytes += seg.size
	}
	return s, nil
}

func (s *Spool) indexPath() string { return filepath.Join(s.dir, "spool.idx") }

// scan reads a segment's record headers, cutting a torn tail.
func (s *Spool) scan(path string) (*segment, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seg := &segment{path: path}
	var off int64
	hdr := make([]byte, recHeader)
	var payload []byte
	for {
		if _, err := io.ReadFull(f, hdr); err != nil {
			break
		}
		n := int(binary.LittleEndian.Uint32(hdr[0:]))
		sum := binary.LittleEndian.Uint32(hdr[4:])
		if n <= 0 || n > 64<<20 {
			break
		}
		if cap(payload) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(f, payload); err != nil {
			break
		}
		c := crc32.Update(crc32.Checksum(hdr[8:], castagnoli), castagnoli, payload)
		if c != sum {
			break
		}
		seq := binary.LittleEndian.Uint64(hdr[8:])
		seg.recs = append(seg.recs, recMeta{seq: seq, off: off, n: n, res: binary.LittleEndian.Uint32(hdr[16:]), smps: binary.LittleEndian.Uint32(hdr[20:])})
		off += int64(recHeader + n)
	}
	if fi, err := f.Stat(); err == nil && fi.Size() > off {
		if err := f.Truncate(off); err != nil {
			return nil, err
		}
	}
	seg.size = off
	if len(seg.recs) > 0 {
		seg.first = seg.recs[0].seq
	} else {
		os.Remove(path)
		return nil, nil
	}
	return seg, nil
}

// Pending reports the batches and bytes waiting to be acknowledged.
func (s *Spool) Pending() (batches int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		for _, r := range seg.recs {
			if r.seq > s.acked {
				batches++
			}
		}
	}
	return batches, s.bytes
}

// Dropped is what the bound discarded since the spool was opened.
func (s *Spool) Dropped() (results, samples uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalDRs, s.totalDSs
}

// LastSeq is the highest Seq handed out.
func (s *Spool) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq
}

// State is the spool's numbering, for the server to re-synchronise to.
func (s *Spool) State() wire.SpoolState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return wire.SpoolState{Acked: s.acked, Last: s.lastSeq}
}

// DropInfo describes what an append had to drop to stay in bounds.
type DropInfo struct {
	Batches          int
	Results, Samples uint64
}

// Append stores a batch under the next Seq, adding the drop counters not
// yet reported, and fsyncs it. It returns the Seq and what the bound made
// it drop (oldest first).
func (s *Spool) Append(build func(seq, droppedResults, droppedSamples uint64) ([]byte, uint32, uint32, error)) (uint64, DropInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := s.lastSeq + 1
	payload, nres, nsmp, err := build(seq, s.dropRes, s.dropSmp)
	if err != nil {
		return 0, DropInfo{}, err
	}
	cur := s.current()
	if cur == nil || cur.size >= s.segMax || cur.f == nil {
		if cur != nil && cur.f != nil {
			cur.f.Close()
			cur.f = nil
		}
		path := filepath.Join(s.dir, fmt.Sprintf("seg-%020d.log", seq))
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
		if err != nil {
			return 0, DropInfo{}, err
		}
		cur = &segment{path: path, f: f, first: seq}
		s.segs = append(s.segs, cur)
		syncDir(s.dir)
	}
	rec := make([]byte, recHeader+len(payload))
	binary.LittleEndian.PutUint32(rec[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(rec[8:], seq)
	binary.LittleEndian.PutUint32(rec[16:], nres)
	binary.LittleEndian.PutUint32(rec[20:], nsmp)
	copy(rec[recHeader:], payload)
	binary.LittleEndian.PutUint32(rec[4:], crc32.Checksum(rec[8:], castagnoli))
	if _, err := cur.f.Write(rec); err != nil {
		// Leave no half record behind: cut back and start a new segment next time.
		_ = cur.f.Truncate(cur.size)
		cur.f.Close()
		cur.f = nil
		return 0, DropInfo{}, err
	}
	if err := cur.f.Sync(); err != nil {
		return 0, DropInfo{}, err
	}
	cur.recs = append(cur.recs, recMeta{seq: seq, off: cur.size, n: len(payload), res: nres, smps: nsmp})
	cur.size += int64(len(rec))
	s.bytes += int64(len(rec))
	s.lastSeq = seq
	s.dropRes, s.dropSmp = 0, 0
	var di DropInfo
	for s.bytes > s.max && len(s.segs) > 1 {
		old := s.segs[0]
		for _, r := range old.recs {
			if r.seq > s.acked {
				di.Batches++
				di.Results += uint64(r.res)
				di.Samples += uint64(r.smps)
			}
		}
		s.removeOldest()
	}
	if di.Batches > 0 {
		s.dropRes += di.Results
		s.dropSmp += di.Samples
		s.totalDRs += di.Results
		s.totalDSs += di.Samples
	}
	// The index keeps lastSeq (a restart must not reuse a Seq once every
	// segment is gone) and the unreported drops.
	if err := s.writeIndex(); err != nil {
		return seq, di, err
	}
	return seq, di, nil
}

func (s *Spool) current() *segment {
	if len(s.segs) == 0 {
		return nil
	}
	return s.segs[len(s.segs)-1]
}

func (s *Spool) removeOldest() {
	old := s.segs[0]
	if old.f != nil {
		old.f.Close()
	}
	os.Remove(old.path)
	s.bytes -= old.size
	s.segs = s.segs[1:]
}

// Oldest returns the oldest unacknowledged record.
func (s *Spool) Oldest() (Record, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		for _, r := range seg.recs {
			if r.seq <= s.acked {
				continue
			}
			f, err := os.Open(seg.path)
			if err != nil {
				return Record{}, false, err
			}
			defer f.Close()
			buf := make([]byte, r.n)
			if _, err := f.ReadAt(buf, r.off+recHeader); err != nil {
				return Record{}, false, fmt.Errorf("spool %s: %w", seg.path, err)
			}
			return Record{Seq: r.seq, Payload: buf}, true, nil
		}
	}
	return Record{}, false, nil
}

// Ack records that the server stored every batch up to seq and deletes
// the segments that are fully acknowledged.
func (s *Spool) Ack(seq uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if seq <= s.acked {
		return nil
	}
	s.acked = min(seq, s.lastSeq) // never beyond what was handed out
	err := s.writeIndex()
	for len(s.segs) > 0 {
		seg := s.segs[0]
		if len(seg.recs) == 0 || seg.recs[len(seg.recs)-1].seq > s.acked {
			break
		}
		s.removeOldest()
	}
	return err
}

// Skip gives up on one batch the server refuses for good (counted as
// dropped, reported in the next batch).
func (s *Spool) Skip(seq uint64) (DropInfo, error) {
	s.mu.Lock()
	var di DropInfo
	for _, seg := range s.segs {
		for _, r := range seg.recs {
			if r.seq == seq && r.seq > s.acked {
				di = DropInfo{Batches: 1, Results: uint64(r.res), Samples: uint64(r.smps)}
			}
		}
	}
	s.dropRes += di.Results
	s.dropSmp += di.Samples
	s.totalDRs += di.Results
	s.totalDSs += di.Samples
	s.mu.Unlock()
	return di, s.Ack(seq)
}

// HasUnreportedDrops reports whether the next batch must carry drop counts.
func (s *Spool) HasUnreportedDrops() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropRes+s.dropSmp > 0
}

func (s *Spool) writeIndex() error {
	b, _ := json.Marshal(spoolIndex{Acked: s.acked, LastSeq: s.lastSeq, DroppedResults: s.dropRes, DroppedSamples: s.dropSmp})
	return WriteFileAtomic(s.indexPath(), b)
}

// Close flushes the index and closes the open segment.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seg := range s.segs {
		if seg.f != nil {
			seg.f.Close()
			seg.f = nil
		}
	}
	return s.writeIndex()
}

// WriteFileAtomic writes path through a synced temporary file and a rename.
func WriteFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return errors.Join(err)
	}
	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere (Windows): best effort
		d.Close()
	}
}
