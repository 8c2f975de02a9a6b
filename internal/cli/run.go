package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// runTail is how much of a job's output is kept for its report.
const runTail = 4096

// cmdRun: mamori run [--job NAME] [--url URL | --server URL --token TOKEN | --config FILE] -- CMD ARGS
// runs a job, passes its output through, and reports exit code, duration
// and output tail to the job's push check. It exits with the job's exit
// code, so cron still sees it.
func cmdRun(args []string, stdout, stderr io.Writer) int {
	before, command := stripDashDash(args)
	fs := clidoc.NewFlagSet("mamori run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	job := fs.String("job", "", "the push check's name (HOST/NAME under a host), for messages and with --config")
	pushURL := fs.String("url", "", "the job's full push URL (default: $MAMORI_PUSH_URL)")
	server := fs.String("server", "", "the mamori server's URL (with --token, or with --config on the server)")
	token := fs.String("token", "", "the job's push token (with --server)")
	cfgPath := fs.String("config", "", "on the server host: the server's config file, to derive the job's token from its data_dir")
	warnExit := fs.String("warning-exit", "", "exit codes reported as WARNING, comma separated (others than 0 are CRITICAL)")
	retries := fs.Int("retries", 3, "times to retry the report when the server cannot be reached")
	reportTimeout := fs.Duration("report-timeout", 10*time.Second, "timeout of one report attempt")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mamori run [--job NAME] [--url URL | --server URL --token TOKEN | --config FILE --job NAME] [--warning-exit N,..] -- CMD ARGS...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(before); err != nil {
		return 2
	}
	if command == nil {
		command = fs.Args()
	} else if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mamori run: unexpected arguments before --: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	if len(command) == 0 {
		fmt.Fprintln(stderr, "mamori run: give the command after --, e.g. mamori run --job backup -- /usr/local/bin/backup.sh")
		return 2
	}
	warn := map[int]bool{}
	for _, p := range strings.Split(*warnExit, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 255 {
			fmt.Fprintf(stderr, "mamori run: --warning-exit: %q is not an exit code 1..255\n", p)
			return 2
		}
		warn[n] = true
	}
	target, err := pushTarget(*job, *pushURL, *server, *token, *cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "mamori run: %v\n", err)
		return 2
	}

	res := runJob(command, stdout, stderr)
	rep := res.report(warn)
	name := *job
	if name == "" {
		name = "job"
	}
	if err := sendReport(target, rep, *retries, *reportTimeout, stderr); err != nil {
		fmt.Fprintf(stderr, "mamori run: %s: could not report to %s: %v\n", name, redactPushURL(target), err)
	}
	return res.code
}

// pushTarget works out the push URL.
func pushTarget(job, pushURL, server, token, cfgPath string) (string, error) {
	if pushURL == "" && server == "" && token == "" && cfgPath == "" {
		pushURL = os.Getenv("MAMORI_PUSH_URL")
	}
	switch {
	case pushURL != "":
		if server != "" || token != "" || cfgPath != "" {
			return "", errors.New("give --url, or --server with --token (or --config), not both")
		}
		u, err := url.Parse(pushURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.Contains(u.Path, "/api/v1/push/") {
			return "", fmt.Errorf("push URL %q is not http(s)://SERVER/api/v1/push/TOKEN", redactPushURL(pushURL))
		}
		return pushURL, nil
	case cfgPath != "" && token == "":
		if job == "" {
			return "", errors.New("--config needs --job NAME (the push check's full name)")
		}
		cfg, err := loadConfig(cfgPath)
		if err != nil {
			return "", err
		}
		c := cfg.Check(job)
		if c == nil || c.Type != "push" {
			return "", fmt.Errorf("%s has no push check %q", cfg.File, job)
		}
		secret, err := pushSecret(cfg)
		if err != nil {
			return "", fmt.Errorf("the job's token is derived from the server's secret key: %v (start the server once, or give --token)", err)
		}
		token = agentapi.PushTokenOf(c, secret)
		if server == "" {
			server = cfg.PublicURL
		}
		if server == "" {
			server = "http://" + cfg.Listen
		}
	case server == "" || token == "":
		return "", errors.New("where to report: --url URL (or $MAMORI_PUSH_URL), or --server URL --token TOKEN")
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--server %q is not an http(s) URL", server)
	}
	return strings.TrimRight(server, "/") + "/api/v1/push/" + url.PathEscape(token), nil
}

// redactPushURL hides the token (the last path element) of a push URL.
func redactPushURL(s string) string {
	if i := strings.Index(s, "/api/v1/push/"); i >= 0 {
		return s[:i] + "/api/v1/push/***"
	}
	if u, err := url.Parse(s); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + "/***"
	}
	return "***"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// String is the tail as valid UTF-8 (a sequence cut at the start is dropped).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buf
	for i := 0; i < len(b) && i < utf8.UTFMax && !utf8.RuneStart(b[0]); i++ {
		b = b[1:]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

type jobResult struct {
	code     int
	signal   string
	startErr error
	duration time.Duration
	tail     string
}

// runJob runs the command in its own process group, its output passed
// through and its tail kept; signals to mamori run are forwarded to it.
func runJob(command []string, stdout, stderr io.Writer) jobResult {
	tail := &tailBuffer{max: runTail}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = io.MultiWriter(stdout, tail)
	cmd.Stderr = io.MultiWriter(stderr, tail)
	cmd.WaitDelay = 5 * time.Second // a child left holding the output must not hold the report
	ownProcessGroup(cmd)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, runSignals...)
	defer signal.Stop(sigs)

	start := time.Now()
	if err := cmd.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			code = 127
		}
		fmt.Fprintf(stderr, "mamori run: %v\n", err)
		return jobResult{code: code, startErr: err, duration: time.Since(start)}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
wait:
	for {
		select {
		case sig := <-sigs:
			signalGroup(cmd, sig)
		case err = <-done:
			break wait
		}
	}
	res := jobResult{duration: time.Since(start), tail: tail.String()}
	if cmd.ProcessState != nil {
		res.code, res.signal = exitStatus(cmd.ProcessState)
	} else if err != nil {
		res.code, res.startErr = 126, err
	}
	return res
}

// pushBody is what mamori run sends to /api/v1/push/{token}.
type pushBody struct {
	Status   string  `json:"status"`
	Output   string  `json:"output"`
	Long     string  `json:"long_output,omitempty"`
	Duration float64 `json:"duration"`
	ExitCode int     `json:"exit_code"`
}

func (r jobResult) report(warn map[int]bool) pushBody {
	status := "CRITICAL"
	switch {
	case r.startErr == nil && r.code == 0:
		status = "OK"
	case r.startErr == nil && warn[r.code]:
		status = "WARNING"
	}
	secs := strconv.FormatFloat(r.duration.Seconds(), 'f', 1, 64)
	var out string
	switch {
	case r.startErr != nil:
		out = fmt.Sprintf("could not start (exit code %d): %v", r.code, r.startErr)
	case r.signal != "":
		out = fmt.Sprintf("exit code %d (killed by signal: %s) after %s s", r.code, r.signal, secs)
	default:
		out = fmt.Sprintf("exit code %d after %s s", r.code, secs)
	}
	if line := lastLine(r.tail); line != "" {
		out += ": " + line
	}
	return pushBody{Status: status, Output: out, Long: r.tail, Duration: r.duration.Seconds(), ExitCode: r.code}
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\r\n\t "), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return ""
}

// sendReport POSTs the report, retrying with backoff (1 s, 2 s, 4 s, ...)
// on network errors, 5xx and 429.
func sendReport(target string, rep pushBody, retries int, timeout time.Duration, stderr io.Writer) error {
	body, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: timeout}
	backoff := time.Second
	var last error
	for attempt := 0; attempt <= retries; attempt++ {
		if attempt > 0 {
			fmt.Fprintf(stderr, "mamori run: report failed (%v); retrying in %s\n", last, backoff)
			time.Sleep(backoff)
			backoff *= 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
		if err != nil {
			cancel()
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "mamori-run/"+buildinfo.Short())
		resp, err := client.Do(req)
		if err != nil {
			cancel()
			last = errors.New(strings.ReplaceAll(err.Error(), target, redactPushURL(target)))
			continue
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		cancel()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(msg, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(msg))
		}
		last = fmt.Errorf("%s: %s", resp.Status, e.Error)
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
			return last // the server refused it: retrying will not help
		}
	}
	return last
}

// pushSecret is the key the server derives push tokens from: the one the
// servers of a shared database keep in it, else DATA_DIR/secret.key.
func pushSecret(cfg *config.Config) ([]byte, error) {
	if cfg.Database == "" {
		return os.ReadFile(filepath.Join(cfg.DataDir, "secret.key"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.SharedKey(ctx, sqlstore.SigningKey)
}
