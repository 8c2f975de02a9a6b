package remotewrite

import (
	"encoding/binary"
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
)

// The queue keeps encoded write requests on disk until the receiver took
// them: segment files of records (4-byte length, 4-byte CRC-32C, payload),
// appended at the end, read from a cursor persisted after every delivery.
// It is bounded: past maxBytes the oldest segments go, and what they held
// is counted as dropped.

const (
	segmentBytes = 8 << 20
	headerBytes  = 8
	maxRecord    = 64 << 20
	cursorFile   = "cursor"
	segSuffix    = ".seg"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type queue struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	segs    []int // segment numbers, oldest first
	sizes   map[int]int64
	w       *os.File // the last segment, open for appending
	readSeg int
	readOff int64
	ready   chan struct{} // signalled on append
	dropped uint64        // records dropped for the bound
}

// openQueue opens (or creates) the queue in dir, cutting a torn record
// at the end of the last segment (a crash in the middle of a write).
func openQueue(dir string, maxBytes int64) (*queue, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	q := &queue{dir: dir, maxBytes: maxBytes, sizes: map[int]int64{}, ready: make(chan struct{}, 1)}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if n, err := strconv.Atoi(strings.TrimSuffix(e.Name(), segSuffix)); err == nil && strings.HasSuffix(e.Name(), segSuffix) {
			q.segs = append(q.segs, n)
		}
	}
	sort.Ints(q.segs)
	if len(q.segs) == 0 {
		q.segs = []int{1}
	}
	for _, n := range q.segs[:len(q.segs)-1] {
		if fi, err := os.Stat(q.path(n)); err == nil {
			q.sizes[n] = fi.Size()
		}
	}
	last := q.segs[len(q.segs)-1]
	end, err := validEnd(q.path(last))
	if err != nil {
		return nil, err
	}
	if q.w, err = os.OpenFile(q.path(last), os.O_CREATE|os.O_WRONLY, 0o640); err != nil {
		return nil, err
	}
	if err := q.w.Truncate(end); err != nil {
		return nil, err
	}
	if _, err := q.w.Seek(end, io.SeekStart); err != nil {
		return nil, err
	}
	q.sizes[last] = end
	q.readSeg, q.readOff = q.loadCursor()
	return q, nil
}

func (q *queue) path(n int) string { return filepath.Join(q.dir, fmt.Sprintf("%08d%s", n, segSuffix)) }

// validEnd is the offset after the last whole, intact record of a segment.
func validEnd(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	defer f.Close()
	var off int64
	for {
		_, n, err := readRecord(f, off)
		if err != nil {
			return off, nil
		}
		off += n
	}
}

// readRecord reads the record at off; n is its size on disk.
func readRecord(f *os.File, off int64) ([]byte, int64, error) {
	var h [headerBytes]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return nil, 0, err
	}
	size := binary.BigEndian.Uint32(h[:4])
	if size == 0 || size > maxRecord {
		return nil, 0, fmt.Errorf("remote write queue: bad record length %d at %d", size, off)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, off+headerBytes); err != nil {
		return nil, 0, err
	}
	if crc32.Checksum(b, castagnoli) != binary.BigEndian.Uint32(h[4:]) {
		return nil, 0, fmt.Errorf("remote write queue: bad checksum at %d", off)
	}
	return b, headerBytes + int64(size), nil
}

func (q *queue) loadCursor() (int, int64) {
	b, err := os.ReadFile(filepath.Join(q.dir, cursorFile))
	first := q.segs[0]
	if err != nil {
		return first, 0
	}
	var seg int
	var off int64
	if _, err := fmt.Sscanf(string(b), "%d %d", &seg, &off); err != nil || seg < first {
		return first, 0
	}
	return seg, off
}

func (q *queue) saveCursor() error {
	tmp := filepath.Join(q.dir, cursorFile+".tmp")
	if err := os.WriteFile(tmp, []byte(fmt.Sprintf("%d %d\n", q.readSeg, q.readOff)), 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(q.dir, cursorFile))
}

// append adds one record.
func (q *queue) append(rec []byte) error {
	if len(rec) == 0 || len(rec) > maxRecord {
		return fmt.Errorf("remote write queue: record of %d bytes", len(rec))
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	last := q.segs[len(q.segs)-1]
	if q.sizes[last] >= segmentBytes {
		if err := q.roll(); err != nil {
			return err
		}
		last = q.segs[len(q.segs)-1]
	}
	buf := make([]byte, headerBytes+len(rec))
	binary.BigEndian.PutUint32(buf[:4], uint32(len(rec)))
	binary.BigEndian.PutUint32(buf[4:8], crc32.Checksum(rec, castagnoli))
	copy(buf[headerBytes:], rec)
	if _, err := q.w.Write(buf); err != nil {
		return err
	}
	q.sizes[last] += int64(len(buf))
	q.bound()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return nil
}

func (q *queue) roll() error {
	if err := q.w.Close(); err != nil {
		return err
	}
	n := q.segs[len(q.segs)-1] + 1
	w, err := os.OpenFile(q.path(n), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	q.w, q.segs, q.sizes[n] = w, append(q.segs, n), 0
	return nil
}

// bound drops the oldest whole segments while the queue is over its size.
func (q *queue) bound() {
	for len(q.segs) > 1 && q.total() > q.maxBytes {
		old := q.segs[0]
		q.dropped += q.countFrom(old, 0)
		_ = os.Remove(q.path(old))
		delete(q.sizes, old)
		q.segs = q.segs[1:]
		if q.readSeg <= old {
			q.readSeg, q.readOff = q.segs[0], 0
			_ = q.saveCursor()
		}
	}
}

func (q *queue) total() int64 {
	var t int64
	for _, s := range q.sizes {
		t += s
	}
	return t
}

// countFrom counts the records of a segment from off (for drop counts).
func (q *queue) countFrom(seg int, off int64) uint64 {
	if seg < q.readSeg {
		return 0
	}
	if seg == q.readSeg {
		off = max(off, q.readOff)
	}
	f, err := os.Open(q.path(seg))
	if err != nil {
		return 0
	}
	defer f.Close()
	var n uint64
	for {
		_, sz, err := readRecord(f, off)
		if err != nil {
			return n
		}
		off += sz
		n++
	}
}

// pos is where a record was read.
type pos struct {
	seg int
	off int64
}

// peek returns the oldest record not yet delivered (ok false: none).
func (q *queue) peek() ([]byte, pos, bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.readOff >= q.sizes[q.readSeg] {
			if q.readSeg == q.segs[len(q.segs)-1] {
				return nil, pos{}, false, nil
			}
			// A finished segment, read to its end: the next one.
			old := q.readSeg
			q.readSeg, q.readOff = q.next(old), 0
			if err := q.saveCursor(); err != nil {
				return nil, pos{}, false, err
			}
			_ = os.Remove(q.path(old))
			delete(q.sizes, old)
			q.segs = q.segs[1:]
			continue
		}
		f, err := os.Open(q.path(q.readSeg))
		if err != nil {
			return nil, pos{}, false, err
		}
		rec, _, err := readRecord(f, q.readOff)
		f.Close()
		return rec, pos{q.readSeg, q.readOff}, err == nil, err
	}
}

func (q *queue) next(seg int) int {
	for _, s := range q.segs {
		if s > seg {
			return s
		}
	}
	return seg
}

// ack marks the record peek returned at p as delivered (nothing, if the
// bound dropped it meanwhile).
func (q *queue) ack(rec []byte, p pos) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p.seg != q.readSeg || p.off != q.readOff {
		return nil
	}
	q.readOff += headerBytes + int64(len(rec))
	return q.saveCursor()
}

// pending is the number of bytes not yet delivered.
func (q *queue) pending() int64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t int64
	for _, s := range q.segs {
		if s > q.readSeg {
			t += q.sizes[s]
		} else if s == q.readSeg {
			t += q.sizes[s] - q.readOff
		}
	}
	return t
}

func (q *queue) close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.w.Close()
}
