package report

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// FontPaths are where the PDF's font is looked for when report.font is not
// set: TrueType fonts with Japanese glyphs from Debian's fonts-ipaexfont-gothic
// and fonts-ipafont-gothic packages (IPA Font License: embedding in
// documents is allowed). Only the glyphs a report uses are embedded.
var FontPaths = []string{
	"/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/truetype/ipaexfont-gothic/ipaexg.ttf",
	"/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
	"/usr/share/fonts/truetype/ipafont-gothic/ipag.ttf",
	"/usr/local/share/fonts/ipaexg.ttf",
	"/Library/Fonts/ipaexg.ttf",
	`C:\Windows\Fonts\ipaexg.ttf`,
}

// ErrNoFont is returned when no usable font is found for a PDF.
var ErrNoFont = errors.New("no Japanese TrueType font for the PDF: install fonts-ipaexfont-gothic (Debian/Ubuntu: apt-get install fonts-ipaexfont-gothic) or set report.font to a .ttf file")

type fontData struct {
	path  string
	bytes []byte
}

var (
	fontMu    sync.Mutex
	fontCache = map[string]*fontData{}
)

// loadFont reads the configured font, or the first of FontPaths found.
// A font is read once per process.
func loadFont(configured string) (*fontData, error) {
	fontMu.Lock()
	defer fontMu.Unlock()
	if f := fontCache[configured]; f != nil {
		return f, nil
	}
	paths := FontPaths
	if configured != "" {
		paths = []string{configured}
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			if configured != "" {
				return nil, fmt.Errorf("report.font: %w", err)
			}
			continue
		}
		if !isTrueType(b) {
			if configured != "" {
				return nil, fmt.Errorf("report.font: %s is not a TrueType (.ttf) font", p)
			}
			continue
		}
		f := &fontData{path: p, bytes: b}
		fontCache[configured] = f
		return f, nil
	}
	return nil, fmt.Errorf("%w (looked in %s)", ErrNoFont, strings.Join(paths, ", "))
}

// isTrueType: TrueType outlines (the PDF writer cannot embed CFF-based
// OpenType fonts).
func isTrueType(b []byte) bool {
	return len(b) > 4 && (string(b[:4]) == "\x00\x01\x00\x00" || string(b[:4]) == "true")
}

// FontAvailable reports whether PDFs can be made with the configured font
// ("" = the system's).
func FontAvailable(configured string) bool {
	_, err := loadFont(configured)
	return err == nil
}
