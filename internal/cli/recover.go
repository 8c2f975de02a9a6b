package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/clidoc"
)

// cmdRecover runs a check's next recovery step through the running
// server's API (POST /api/v1/recover/CHECK): the same safety rules and the
// same record as automatic runs.
//
// Exit codes: 0 the action ran and the check is OK again (or a dry run);
// 1 it ran and did not help, or failed, or was refused by the agent;
// 3 the safety rules did not allow it; 2 usage or connection problems.
func cmdRecover(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori recover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", os.Getenv("MAMORI_SERVER"), "the mamori server's URL (or MAMORI_SERVER; default: the config's listen address)")
	tok := fs.String("token", "", "API token with the operator role (default MAMORI_ADMIN_TOKEN, else DATA_DIR/admin.token)")
	cfgPath := fs.String("config", "", "the server's config file (for its address and data_dir; default: the embedded example)")
	dry := fs.Bool("dry-run", false, "record what would run without running it")
	jsonOut := fs.Bool("json", false, "print the outcome as JSON")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up waiting for the outcome after")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamori recover CHECK [--dry-run] [--config FILE] [--server URL] [--token T]")
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	name := pos[0]
	if code := recoverTarget(server, tok, *cfgPath, stderr); code != 0 {
		return code
	}
	body, _ := json.Marshal(map[string]bool{"dry_run": *dry})
	u := strings.TrimRight(*server, "/") + "/api/v1/recover/" + (&url.URL{Path: name}).EscapedPath()
	req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "mamori recover: %v\n", err)
		return 2
	}
	req.Header.Set("Authorization", "Bearer "+*tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: *timeout}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "mamori recover: %v\n", err)
		return 2
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		fmt.Fprintf(stderr, "mamori recover %s: %s (HTTP %d)\n", name, e.Error, resp.StatusCode)
		if resp.StatusCode == http.StatusConflict {
			return 3
		}
		return 2
	}
	var out recoverOutcome
	if err := json.Unmarshal(b, &out); err != nil {
		fmt.Fprintf(stderr, "mamori recover: unreadable answer: %v\n", err)
		return 2
	}
	if *jsonOut {
		stdout.Write(b)
		fmt.Fprintln(stdout)
	} else {
		out.print(stdout)
	}
	if !out.Refused && (out.DryRun || out.Verified == "ok") {
		return 0
	}
	return 1
}

// recoverTarget fills in the server's URL and the token from the config
// (and DATA_DIR/admin.token) when the flags and the environment left them
// out; non-zero is the exit code of a failure (already said).
func recoverTarget(server, tok *string, cfgPath string, stderr io.Writer) int {
	if *tok == "" {
		*tok = os.Getenv("MAMORI_ADMIN_TOKEN")
	}
	if *tok != "" && *server != "" {
		return 0
	}
	cfg, err := loadConfig(cfgPath)
	if err != nil {
		printConfigErrors(stderr, err)
		return 2
	}
	if *server == "" {
		*server = apiBase(cfg)
	}
	if *tok == "" {
		b, err := os.ReadFile(filepath.Join(cfg.DataDir, "admin.token"))
		if err != nil {
			fmt.Fprintf(stderr, "mamori recover: no token: give --token, set MAMORI_ADMIN_TOKEN, or run where the server's data directory is readable (%v)\n", err)
			return 2
		}
		*tok = strings.TrimSpace(string(b))
	}
	return 0
}

// recoverOutcome is the API's answer to POST /api/v1/recover/CHECK.
type recoverOutcome struct {
	Check       string `json:"check"`
	Step        int    `json:"step"`
	Action      string `json:"action"`
	Description string `json:"description"`
	DryRun      bool   `json:"dry_run"`
	Refused     bool   `json:"refused"`
	ExitCode    int    `json:"exit_code"`
	Output      string `json:"output"`
	Error       string `json:"error"`
	Verified    string `json:"verified"`
	VerifyText  string `json:"verify_text"`
	IncidentID  int64  `json:"incident_id"`
}

// print writes the outcome for a person.
func (out recoverOutcome) print(stdout io.Writer) {
	fmt.Fprintf(stdout, "%s: step %d (%s): %s\n", out.Check, out.Step, out.Action, out.Description)
	switch {
	case out.Refused:
		fmt.Fprintf(stdout, "refused by the agent: %s\n", out.Error)
	case out.DryRun:
		fmt.Fprintf(stdout, "dry run: nothing ran. %s\n", strings.TrimSpace(out.Output))
	default:
		fmt.Fprintf(stdout, "exit code %d\n", out.ExitCode)
		if out.Error != "" {
			fmt.Fprintf(stdout, "error: %s\n", out.Error)
		}
		if o := strings.TrimSpace(out.Output); o != "" {
			fmt.Fprintf(stdout, "output:\n%s\n", o)
		}
		fmt.Fprintf(stdout, "verification: %s %s\n", out.Verified, out.VerifyText)
	}
	if out.IncidentID != 0 {
		fmt.Fprintf(stdout, "on the timeline of incident %d\n", out.IncidentID)
	}
}
