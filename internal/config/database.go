package config

import (
	"fmt"
	"net/url"
)

// checkDatabaseURL accepts a PostgreSQL URL: postgres:// or postgresql://,
// a host and a database name.
func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("must be a postgres:// URL (postgres://USER@HOST:PORT/DB), not %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return fmt.Errorf("names no host (postgres://USER@HOST:PORT/DB)")
	}
	if len(u.Path) < 2 {
		return fmt.Errorf("names no database (postgres://USER@HOST:PORT/DB)")
	}
	return nil
}
