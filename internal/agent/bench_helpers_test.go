package agent

import "github.com/mamori/mamori/internal/wire"

func batchOf(seq uint64, samples []wire.Sample) wire.Batch {
	return wire.Batch{Seq: seq, Sent: 1, Samples: samples}
}
