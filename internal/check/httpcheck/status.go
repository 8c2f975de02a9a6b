package httpcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// statusSet is a parsed expect_status: inclusive code ranges.
type statusSet [][2]int

func (ss statusSet) has(code int) bool {
	for _, r := range ss {
		if code >= r[0] && code <= r[1] {
			return true
		}
	}
	return false
}

func parseStatusSet(items []string) (statusSet, error) {
	var out statusSet
	for _, item := range items {
		for _, tok := range strings.Split(item, ",") {
			tok = strings.ToLower(strings.TrimSpace(tok))
			if tok == "" {
				continue
			}
			r, err := parseStatusToken(tok)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func parseStatusToken(tok string) ([2]int, error) {
	code := func(s string) (int, error) {
		n, err := strconv.Atoi(s)
		if err != nil || n < 100 || n > 999 {
			return 0, fmt.Errorf("%q is not a status code (100..999)", s)
		}
		return n, nil
	}
	switch {
	case len(tok) == 3 && strings.HasSuffix(tok, "xx") && tok[0] >= '1' && tok[0] <= '9':
		base := int(tok[0]-'0') * 100
		return [2]int{base, base + 99}, nil
	case strings.Contains(tok, "-"):
		lo, hi, _ := strings.Cut(tok, "-")
		a, err := code(strings.TrimSpace(lo))
		if err != nil {
			return [2]int{}, err
		}
		b, err := code(strings.TrimSpace(hi))
		if err != nil {
			return [2]int{}, err
		}
		if a > b {
			return [2]int{}, fmt.Errorf("range %q: start is greater than end", tok)
		}
		return [2]int{a, b}, nil
	}
	n, err := code(tok)
	return [2]int{n, n}, err
}
