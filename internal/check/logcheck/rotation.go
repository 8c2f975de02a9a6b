package logcheck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Where each run starts reading: offsets kept across runs, truncation,
// rotation (by device and inode, or by fingerprint where there are none).

// scan is what one run knows about the files it reads: the paths the
// patterns matched, which were named explicitly, the files of the last
// run by device and inode, and whether there was a last run at all.
type scan struct {
	paths    []string
	explicit map[string]bool
	byInode  map[[2]uint64]string
	firstRun bool
}

// startOffset is where reading file p (dev, ino, size) starts this run:
// where the last run stopped, at its start (truncated, rotated, new) or
// at its end (first run without from_start). A rotated-away file is
// finished first from its rotated name.
func (c *Checker) startOffset(ctx context.Context, run scan, p string, dev, ino uint64, size int64, rs *runStats) int64 {
	prevPath, knownInode := "", false
	if ino != 0 {
		prevPath, knownInode = run.byInode[[2]uint64{dev, ino}]
	}
	old, knownPath := c.st.Files[p]
	switch {
	case knownInode:
		return resume(p, c.st.Files[prevPath], size)
	case knownPath && ino == 0: // no inodes: truncation and fingerprint
		return resume(p, old, size)
	case knownPath:
		// A new file under a known path: rotated. Finish the old one
		// from its rotated name if it is not matched itself, then read
		// the new file from its start.
		if old.Inode != 0 && !containsInode(run.paths, old.Dev, old.Inode) {
			if rp := findRotated(p, old.Dev, old.Inode); rp != "" {
				c.read(ctx, rp, old.Offset, -1, true, rs)
			}
		}
		return 0
	case run.firstRun && !c.spec.FromStart:
		return size
	case !run.firstRun && run.explicit[p]:
		return 0 // the file we watch did not exist at the last run
	case c.spec.FromStart:
		return 0
	default:
		// A file the glob found after the first run (app-YYYYMMDD.log):
		// its first lines are news.
		return 0
	}
}

// resume is where to go on reading a known file: at the old offset, or at
// its start when it was truncated (smaller than the offset) or rewritten
// (its first bytes differ: a copytruncate followed by growth past the old
// offset, or a new file that got the old one's inode).
func resume(path string, old *FileState, size int64) int64 {
	if size < old.Offset {
		return 0
	}
	if old.FPLen > 0 {
		if n, fp := fingerprint(path, int64(old.FPLen)); n != old.FPLen || fp != old.FP {
			return 0
		}
	}
	return old.Offset
}

// fpBytes is how many leading bytes identify a file's content.
const fpBytes = 512

// fingerprint hashes the first min(limit, fpBytes) bytes of path. n is how
// many bytes it covers (0 when the file cannot be read).
func fingerprint(path string, limit int64) (n int, fp string) {
	f, err := os.Open(path)
	if err != nil {
		return 0, ""
	}
	defer f.Close()
	buf := make([]byte, min(limit, fpBytes))
	n, _ = io.ReadFull(f, buf)
	if n == 0 {
		return 0, ""
	}
	sum := sha256.Sum256(buf[:n])
	return n, hex.EncodeToString(sum[:16])
}

func containsInode(paths []string, dev, ino uint64) bool {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			if d, i := fileID(fi); d == dev && i == ino {
				return true
			}
		}
	}
	return false
}

// findRotated looks next to path for the file with the given inode
// (app.log.1, app.log-20240101, ...), skipping compressed ones.
func findRotated(path string, dev, ino uint64) string {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, e := range ents {
		n := e.Name()
		if n == base || !strings.HasPrefix(n, base) || compressed(n) {
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, n))
		if err != nil {
			continue
		}
		if d, i := fileID(fi); i == ino && d == dev {
			return filepath.Join(dir, n)
		}
	}
	return ""
}
