package alerting

import "github.com/mamori/mamori/internal/config"

// SetRunbooks installs how a check's runbook is found (its name, or "").
func (s *Service) SetRunbooks(f func(c *config.Check) string) {
	s.mu.Lock()
	s.runbookMatch = f
	s.mu.Unlock()
}

func (s *Service) runbookFor(c *config.Check) string {
	s.mu.RLock()
	f := s.runbookMatch
	s.mu.RUnlock()
	if f == nil {
		return ""
	}
	return f(c)
}
