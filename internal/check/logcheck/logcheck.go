// Package logcheck is the agent-side "log" check type: it reads the lines
// appended to log files (paths or globs) since its last run, filters them
// with include/exclude regexes, and grades them by warning and critical
// patterns, putting the matching lines in its output. Offsets are kept in a
// state file (the agent's state dir) across restarts, so a line alerts once:
// never again after a restart. It follows rotation (a new inode under the
// path: the rest of the old file is read from its rotated name, then the new
// file from its start), truncation (size below the offset) and rewriting
// (the first bytes differ from the fingerprint taken at the last run: a
// copytruncate that grew past the old offset, a reused inode): the file is
// read from its start. Files present at the very first run start at their
// end unless from_start; a file a glob finds later is read from its start.
package logcheck

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Bounds.
const (
	DefaultMaxLines = 10
	maxMaxLines     = 100
	maxLineShown    = 300      // bytes of one line in the output
	maxLineRead     = 64 << 10 // a longer line is matched on its first 64 KiB
)

func init() {
	check.Register(&check.Kind{
		Name:     "log",
		Label:    "LOG",
		Summary:  "new lines of log files (paths or globs) matching warning / critical patterns; offsets kept across restarts",
		Scope:    check.ScopeAgent,
		Timeout:  60 * time.Second,
		Attempts: 1, // a matching line is an event: alert on it at once
		New:      func() check.Spec { return &Spec{MaxLines: DefaultMaxLines, Missing: "unknown"} },
	})
}

// Spec is the log check's configuration.
type Spec struct {
	Files            []string `yaml:"files" required:"true" help:"log file paths or globs (/var/log/app/*.log)"`
	Include          []string `yaml:"include" help:"regexes: only lines matching one of them are considered"`
	Exclude          []string `yaml:"exclude" help:"regexes: lines matching one of them are ignored"`
	WarningPatterns  []string `yaml:"warning_patterns" help:"regexes: a new line matching one is WARNING"`
	CriticalPatterns []string `yaml:"critical_patterns" help:"regexes: a new line matching one is CRITICAL"`
	FromStart        bool     `yaml:"from_start" help:"at the very first run, read the files from their start instead of their end (files a glob finds later are always read from their start)"`
	MaxLines         int      `yaml:"max_lines" help:"matching lines shown in the output (the rest are counted)"`
	Missing          string   `yaml:"missing" help:"status when no file matches: ok, warning, critical or unknown"`
	StateFile        string   `yaml:"state_file" help:"where offsets are kept (default: in the agent's state dir; empty outside the agent: memory only)"`
}

// SetStateFile sets where offsets are kept unless the spec names a file.
// The agent calls it with a path in its state dir.
func (s *Spec) SetStateFile(path string) {
	if s.StateFile == "" {
		s.StateFile = path
	}
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if len(s.Files) == 0 {
		errs = append(errs, check.Errf("files", "is required: log file paths or globs"))
	}
	for i, f := range s.Files {
		if _, err := filepath.Match(f, ""); err != nil {
			errs = append(errs, check.Errf("files", "item %d: %q: %v", i, f, err))
		}
	}
	for _, l := range []struct {
		key string
		res []string
	}{{"include", s.Include}, {"exclude", s.Exclude}, {"warning_patterns", s.WarningPatterns}, {"critical_patterns", s.CriticalPatterns}} {
		for i, re := range l.res {
			if _, err := regexp.Compile(re); err != nil {
				errs = append(errs, check.Errf(l.key, "item %d: %v", i, err))
			}
		}
	}
	if len(s.WarningPatterns) == 0 && len(s.CriticalPatterns) == 0 {
		errs = append(errs, check.Errf("critical_patterns", "give warning_patterns or critical_patterns (or both)"))
	}
	if s.MaxLines < 0 || s.MaxLines > maxMaxLines {
		errs = append(errs, check.Errf("max_lines", "must be between 0 and %d", maxMaxLines))
	}
	if _, err := check.ParseStatus(s.Missing); err != nil {
		errs = append(errs, check.Errf("missing", "%v", err))
	}
	return errs
}

func compileAll(res []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(res))
	for _, r := range res {
		re, err := regexp.Compile(r)
		if err != nil {
			return nil, err
		}
		out = append(out, re)
	}
	return out, nil
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	c := &Checker{spec: *s}
	var err error
	if c.include, err = compileAll(s.Include); err != nil {
		return nil, err
	}
	if c.exclude, err = compileAll(s.Exclude); err != nil {
		return nil, err
	}
	if c.warn, err = compileAll(s.WarningPatterns); err != nil {
		return nil, err
	}
	if c.crit, err = compileAll(s.CriticalPatterns); err != nil {
		return nil, err
	}
	if c.missing, err = check.ParseStatus(s.Missing); err != nil {
		return nil, err
	}
	return c, nil
}

// Checker reads the new lines of the files. It is safe for concurrent use
// (runs are serialised).
type Checker struct {
	spec                         Spec
	include, exclude, warn, crit []*regexp.Regexp
	missing                      check.Status

	mu     sync.Mutex
	loaded bool
	st     *State
}

// State is what the checker keeps between runs, per file path.
type State struct {
	Version int                   `json:"version"`
	Files   map[string]*FileState `json:"files"`
}

// FileState is the read position in one file, and what identifies the
// file: its device and inode, and a fingerprint of its first bytes (the
// bytes before Offset do not change while a log only grows).
type FileState struct {
	Dev    uint64 `json:"dev,omitempty"`
	Inode  uint64 `json:"inode,omitempty"`
	Offset int64  `json:"offset"`
	FPLen  int    `json:"fp_len,omitempty"`
	FP     string `json:"fp,omitempty"`
}

type match struct {
	file   string
	line   string
	status check.Status
}

type runStats struct {
	lines, warn, crit int
	matches           []match
	errs              []string
}

// Check reads what was appended since the last run.
func (c *Checker) Check(ctx context.Context) check.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	firstRun := false
	if !c.loaded {
		st, existed, err := loadState(c.spec.StateFile)
		if err != nil {
			return check.Resultf(check.Unknown, "cannot read state: %v", err)
		}
		c.st, c.loaded, firstRun = st, true, !existed
	}
	paths, explicit := c.expand()
	next := &State{Version: 1, Files: map[string]*FileState{}}
	byInode := map[[2]uint64]string{}
	for p, fs := range c.st.Files {
		if fs.Inode != 0 {
			byInode[[2]uint64{fs.Dev, fs.Inode}] = p
		}
	}
	run := scan{paths: paths, explicit: explicit, byInode: byInode, firstRun: firstRun}
	var rs runStats
	found := 0
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		found++
		dev, ino := fileID(fi)
		size := fi.Size()
		off := c.startOffset(ctx, run, p, dev, ino, size, &rs)
		end := c.read(ctx, p, off, size, false, &rs)
		fs := &FileState{Dev: dev, Inode: ino, Offset: end}
		fs.FPLen, fs.FP = fingerprint(p, end)
		next.Files[p] = fs
	}
	// Keep explicit paths that are missing right now (in the middle of a
	// rotation), so the rest of the old file is read when it reappears.
	for p, fs := range c.st.Files {
		if _, ok := next.Files[p]; !ok && explicit[p] {
			next.Files[p] = fs
		}
	}
	c.st = next
	if err := saveState(c.spec.StateFile, next); err != nil {
		rs.errs = append(rs.errs, "cannot save offsets: "+err.Error())
	}
	return c.result(found, &rs)
}

// expand resolves the globs; explicit are the paths given without a glob.
func (c *Checker) expand() ([]string, map[string]bool) {
	seen := map[string]bool{}
	explicit := map[string]bool{}
	var out []string
	for _, f := range c.spec.Files {
		if !hasMeta(f) {
			explicit[f] = true
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
			continue
		}
		ms, _ := filepath.Glob(f)
		for _, m := range ms {
			if compressed(m) {
				continue // rotated and compressed: not text to scan
			}
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	sort.Strings(out)
	return out, explicit
}

func compressed(name string) bool {
	for _, ext := range []string{".gz", ".xz", ".bz2", ".zst"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[`) }

// read reads complete lines of path from off up to limit (-1: to the end)
// and returns the offset after the last complete line (final: also an
// unterminated last line, for a rotated file that will not grow again).
func (c *Checker) read(ctx context.Context, path string, off, limit int64, final bool, rs *runStats) int64 {
	f, err := os.Open(path)
	if err != nil {
		rs.errs = append(rs.errs, err.Error())
		return off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		rs.errs = append(rs.errs, err.Error())
		return off
	}
	var r io.Reader = f
	if limit >= 0 {
		r = io.LimitReader(f, limit-off)
	}
	br := bufio.NewReaderSize(r, 32<<10)
	pos, lineStart := off, off
	var long []byte
	for i := 0; ; i++ {
		if i%4096 == 0 && ctx.Err() != nil {
			return lineStart
		}
		chunk, err := br.ReadSlice('\n')
		pos += int64(len(chunk))
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) < maxLineRead {
				long = append(long, chunk[:min(len(chunk), maxLineRead-len(long))]...)
			}
			continue
		}
		if err != nil { // EOF (or a read error): an unterminated line waits for its end
			if len(chunk)+len(long) > 0 && (final || pos-lineStart > maxLineRead) {
				c.line(path, append(long, chunk[:min(len(chunk), max(0, maxLineRead-len(long)))]...), rs)
				return pos
			}
			return lineStart
		}
		line := chunk
		if len(long) > 0 {
			line = append(long, chunk[:min(len(chunk), max(0, maxLineRead-len(long)))]...)
		}
		c.line(path, line, rs)
		long = long[:0]
		lineStart = pos
	}
}

func (c *Checker) line(path string, b []byte, rs *runStats) {
	b = bytes.TrimRight(b, "\r\n")
	rs.lines++
	if len(c.include) > 0 && !anyMatch(c.include, b) {
		return
	}
	if anyMatch(c.exclude, b) {
		return
	}
	st := check.OK
	switch {
	case anyMatch(c.crit, b):
		st = check.Critical
		rs.crit++
	case anyMatch(c.warn, b):
		st = check.Warning
		rs.warn++
	default:
		return
	}
	// Keep up to max_lines of each status: criticals are shown first.
	kept := rs.crit
	if st == check.Warning {
		kept = rs.warn
	}
	if kept <= max(c.spec.MaxLines, 1) {
		s := check.OneLine(string(b))
		if len(s) > maxLineShown {
			s = cutUTF8(s, maxLineShown) + "…"
		}
		rs.matches = append(rs.matches, match{file: path, line: s, status: st})
	}
}

func cutUTF8(s string, n int) string {
	for n > 0 && n < len(s) && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}

func anyMatch(res []*regexp.Regexp, b []byte) bool {
	for _, re := range res {
		if re.Match(b) {
			return true
		}
	}
	return false
}

func (c *Checker) result(found int, rs *runStats) check.Result {
	perf := []check.Metric{check.M("lines", float64(rs.lines), "c"), check.M("warning_lines", float64(rs.warn), ""), check.M("critical_lines", float64(rs.crit), "")}
	if found == 0 {
		return check.Resultf(c.missing, "no log file matches %s", strings.Join(c.spec.Files, ", ")).With(perf...)
	}
	var r check.Result
	switch {
	case rs.crit+rs.warn == 0:
		r = check.Resultf(check.OK, "no new matching lines in %d file%s (%d new lines)", found, plural(found), rs.lines)
	default:
		st := check.Warning
		if rs.crit > 0 {
			st = check.Critical
		}
		// The output names the first line of the worst status.
		first := rs.matches[0]
		for _, m := range rs.matches {
			if m.status == st {
				first = m
				break
			}
		}
		r = check.Resultf(st, "%d critical, %d warning line%s: %s: %s", rs.crit, rs.warn, plural(rs.crit+rs.warn), first.file, first.line)
		var long []string
		sort.SliceStable(rs.matches, func(i, j int) bool { return rs.matches[i].status.Severity() > rs.matches[j].status.Severity() })
		shown := rs.matches
		if c.spec.MaxLines > 0 && len(shown) > c.spec.MaxLines {
			shown = shown[:c.spec.MaxLines]
		}
		if c.spec.MaxLines == 0 {
			shown = nil
		}
		for _, m := range shown {
			long = append(long, fmt.Sprintf("%s %s: %s", m.status, m.file, m.line))
		}
		if more := rs.crit + rs.warn - len(shown); more > 0 && c.spec.MaxLines > 0 {
			long = append(long, fmt.Sprintf("… and %d more matching line%s", more, plural(more)))
		}
		r.Long = strings.Join(long, "\n")
	}
	if len(rs.errs) > 0 {
		r.Status = check.Worst(r.Status, check.Unknown)
		if r.Long != "" {
			r.Long += "\n"
		}
		r.Long += strings.Join(rs.errs, "\n")
		if r.Status == check.Unknown {
			r.Output = check.OneLine(r.Output + "; " + rs.errs[0])
		}
	}
	return r.With(perf...)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func loadState(path string) (*State, bool, error) {
	st := &State{Version: 1, Files: map[string]*FileState{}}
	if path == "" {
		return st, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if err := json.Unmarshal(b, st); err != nil {
		// A damaged state file must not stop the check: start over at the
		// files' ends, as on a first run.
		return &State{Version: 1, Files: map[string]*FileState{}}, false, nil
	}
	if st.Files == nil {
		st.Files = map[string]*FileState{}
	}
	return st, true, nil
}

func saveState(path string, st *State) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
