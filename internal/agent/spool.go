package agent

import "github.com/mamori/mamori/internal/spool"

// The agent's spool is the shared on-disk queue (internal/spool).
type (
	Spool    = spool.Spool
	Record   = spool.Record
	DropInfo = spool.DropInfo
)

// OpenSpool opens (or creates) the spool in dir, bounded to maxBytes.
func OpenSpool(dir string, maxBytes int64) (*Spool, error) { return spool.OpenSpool(dir, maxBytes) }

func writeFileAtomic(path string, b []byte) error { return spool.WriteFileAtomic(path, b) }
