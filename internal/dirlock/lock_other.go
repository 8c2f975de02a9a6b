//go:build !(unix && !aix) && !windows

package dirlock

import "os"

// Platforms without flock or LockFileEx (aix, plan9, wasm) run unlocked.
func tryLock(*os.File) error { return nil }

func unlock(*os.File) error { return nil }
