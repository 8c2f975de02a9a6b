//go:build unix

package logcheck

import (
	"os"
	"syscall"
)

// fileID is the (device, inode) pair that identifies a file across renames.
func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // Dev is int32 on darwin
	}
	return 0, 0
}
