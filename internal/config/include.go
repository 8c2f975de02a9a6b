package config

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Bounds of include:.
const (
	MaxIncludeBytes = 4 << 20 // one included file
	MaxIncludeFiles = 1000    // files one pattern may match
)

// includePattern says what is wrong with an include pattern ("" if
// nothing): wildcards only in the file name (one folder is read, never a
// tree), and a .yaml or .yml file.
func includePattern(pat string) string {
	dir, base := filepath.Split(pat)
	if strings.ContainsAny(dir, "*?[") {
		return "wildcards are allowed in the file name only (conf.d/*.yaml), not in folders"
	}
	if ext := strings.ToLower(filepath.Ext(base)); ext != ".yaml" && ext != ".yml" {
		return "an included file must end in .yaml or .yml"
	}
	return ""
}

// readInclude reads an included file: a regular file of at most
// MaxIncludeBytes (a device or a FIFO would never end).
func readInclude(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.Unwrap(err) // the path is in the message already
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	if st.Size() > MaxIncludeBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxIncludeBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxIncludeBytes+1))
	if err == nil && len(b) > MaxIncludeBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxIncludeBytes)
	}
	return b, err
}

// quotedValue is a value the YAML library quotes in an error message.
var quotedValue = regexp.MustCompile("`[^`]*`")

// redactYAMLError keeps a file's content out of an error about it (an
// included file may hold anything).
func redactYAMLError(e Error) Error {
	e.Msg = quotedValue.ReplaceAllString(e.Msg, "(value not shown)")
	return e
}
