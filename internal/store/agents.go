package store

import (
	"time"

	"github.com/mamori/mamori/internal/check"
)

// AgentHost is what the store knows of a host's agent.
type AgentHost struct {
	Host           string
	TokenHash      []byte // SHA-256 of the enrolled token; nil if none (config token only, or revoked)
	Tenant         string
	EnrolledAt     time.Time
	LastSeen       time.Time
	LastSeq        uint64
	DroppedResults uint64 // total reported by the agent
	DroppedSamples uint64
	AgentInfo      string // from its last hello: build, OS/arch
}

// PushRecord is the last report of a push check.
type PushRecord struct {
	Check      string
	WatchSince time.Time    // when the server started waiting for its first report
	At         time.Time    // when the last report arrived; zero if none yet
	Result     check.Result // valid when At is set
}
