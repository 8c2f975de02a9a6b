package check

import (
	"crypto/x509"
	"fmt"
	"math"
	"time"
)

// CertExpiry grades a certificate by the days left before it expires:
// expired (or not yet valid) is CRITICAL, fewer than critDays CRITICAL,
// fewer than warnDays WARNING (a zero limit is disabled). It returns the
// status, a text such as "certificate 'localhost' expires in 12 days
// (2026-12-03 10:00 UTC)", and the days left (fractional).
func CertExpiry(c *x509.Certificate, now time.Time, warnDays, critDays int) (Status, string, float64) {
	left := c.NotAfter.Sub(now)
	days := left.Hours() / 24
	name := c.Subject.CommonName
	if name == "" && len(c.DNSNames) > 0 {
		name = c.DNSNames[0]
	}
	when := c.NotAfter.UTC().Format("2006-01-02 15:04 MST")
	switch {
	case now.Before(c.NotBefore):
		return Critical, fmt.Sprintf("certificate '%s' is not valid before %s", name, c.NotBefore.UTC().Format("2006-01-02 15:04 MST")), days
	case left <= 0:
		ago := "less than a day ago"
		if n := int(math.Floor(-days)); n == 1 {
			ago = "1 day ago"
		} else if n > 1 {
			ago = fmt.Sprintf("%d days ago", n)
		}
		return Critical, fmt.Sprintf("certificate '%s' expired %s (%s)", name, ago, when), days
	}
	text := fmt.Sprintf("certificate '%s' expires in %d days (%s)", name, int(math.Floor(days)), when)
	switch {
	case critDays > 0 && days < float64(critDays):
		return Critical, text, days
	case warnDays > 0 && days < float64(warnDays):
		return Warning, text, days
	}
	return OK, text, days
}
