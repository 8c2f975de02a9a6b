package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
)

// defaultConfigFile is the packaged (and container) server config.
const defaultConfigFile = "/etc/mamori/mamori.yaml"

// cmdHealthcheck asks the local server's /healthz, for container health
// checks and scripts (an image FROM scratch has no curl): exit 0 healthy,
// 1 not.
func cmdHealthcheck(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "the health URL (default: /healthz on the config's listen address)")
	path := fs.String("config", "", "the server's config file (default "+defaultConfigFile+" when it exists)")
	timeout := fs.Duration("timeout", 5*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	target := *url
	if target == "" {
		addr, err := healthAddr(*path)
		if err != nil {
			fmt.Fprintf(stderr, "mamori healthcheck: %v\n", err)
			return 2
		}
		target = "http://" + addr + "/healthz"
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		fmt.Fprintf(stderr, "mamori healthcheck: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "mamori healthcheck: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "mamori healthcheck: %s: %s %s\n", target, resp.Status, body)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %s\n", target, body)
	return 0
}

// healthAddr is the loopback address of the server's listen address.
func healthAddr(path string) (string, error) {
	listen := "127.0.0.1:8484"
	if path == "" {
		if _, err := os.Stat(defaultConfigFile); err == nil {
			path = defaultConfigFile
		}
	}
	if path != "" {
		cfg, err := config.Load(path)
		if err != nil {
			return "", err
		}
		listen = cfg.Listen
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}
