package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/store"
)

// Agent and job bookkeeping (internal/agentapi): enrolled host tokens (only
// their SHA-256), when each agent was last heard from, the highest batch
// Seq stored per host (idempotent batches), the agent's dropped counters,
// and the last report of each push check.
// ErrEnrolled is returned by EnrollAgent for a host that already has a token.
var ErrEnrolled = errors.New("the host already has an agent token (revoke it first, or rotate)")

func seqInt(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// EnrollAgent stores the hash of a host's new agent token. With replace
// false, a host that has one already is refused with ErrEnrolled.
func (s *Store) EnrollAgent(ctx context.Context, host, tenant string, hash []byte, replace bool) error {
	if len(hash) != 32 {
		return fmt.Errorf("store: agent token hash must be 32 bytes")
	}
	return s.write(ctx, func(tx *Tx) error {
		var old []byte
		err := tx.QueryRowContext(ctx, `SELECT token_hash FROM agent_hosts WHERE host = ?`, host).Scan(&old)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO agent_hosts(host, token_hash, tenant, enrolled_at) VALUES (?,?,?,?)`, host, hash, tenant, ms(time.Now()))
			return err
		case err != nil:
			return err
		case len(old) > 0 && !replace:
			return ErrEnrolled
		}
		_, err = tx.ExecContext(ctx, `UPDATE agent_hosts SET token_hash = ?, tenant = ?, enrolled_at = ? WHERE host = ?`, hash, tenant, ms(time.Now()), host)
		return err
	})
}

// RevokeAgent deletes a host's enrolled token; false if it had none.
func (s *Store) RevokeAgent(ctx context.Context, host string) (bool, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE agent_hosts SET token_hash = NULL WHERE host = ? AND token_hash IS NOT NULL`, host)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n > 0, err
}

// AgentTokens returns the enrolled token hashes by host.
func (s *Store) AgentTokens(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT host, token_hash FROM agent_hosts WHERE token_hash IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var h string
		var b []byte
		if err := rows.Scan(&h, &b); err != nil {
			return nil, err
		}
		out[h] = b
	}
	return out, rows.Err()
}

// AgentHosts lists every host the store knows, by name.
func (s *Store) AgentHosts(ctx context.Context) ([]store.AgentHost, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT host, token_hash, tenant, enrolled_at, last_seen, last_seq, dropped_results, dropped_samples, agent_info
		FROM agent_hosts ORDER BY host`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AgentHost
	for rows.Next() {
		var a store.AgentHost
		var enrolled, seen, seq, dr, ds int64
		if err := rows.Scan(&a.Host, &a.TokenHash, &a.Tenant, &enrolled, &seen, &seq, &dr, &ds, &a.AgentInfo); err != nil {
			return nil, err
		}
		a.EnrolledAt, a.LastSeen = fromMS(enrolled), fromMS(seen)
		a.LastSeq, a.DroppedResults, a.DroppedSamples = uint64(seq), uint64(dr), uint64(ds)
		out = append(out, a)
	}
	return out, rows.Err()
}

// SetAgentSeen records the last authenticated contact of a host's agent
// (never moving it back), and its hello information if info is not "".
func (s *Store) SetAgentSeen(ctx context.Context, host string, seen time.Time, info string) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_hosts(host, last_seen, agent_info) VALUES (?,?,?)
			ON CONFLICT(host) DO UPDATE SET last_seen = `+s.d.Greatest+`(agent_hosts.last_seen, excluded.last_seen),
			agent_info = CASE WHEN excluded.agent_info = '' THEN agent_hosts.agent_info ELSE excluded.agent_info END`, host, ms(seen), info)
		return err
	})
}

// StoreAgentBatch records that a host's batch seq was stored: last_seq
// becomes seq (never moving back), the dropped counters grow, last_seen is
// updated.
func (s *Store) StoreAgentBatch(ctx context.Context, host string, seq, droppedResults, droppedSamples uint64, seen time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_hosts(host, last_seq, dropped_results, dropped_samples, last_seen) VALUES (?,?,?,?,?)
			ON CONFLICT(host) DO UPDATE SET last_seq = `+s.d.Greatest+`(agent_hosts.last_seq, excluded.last_seq),
			dropped_results = agent_hosts.dropped_results + excluded.dropped_results,
			dropped_samples = agent_hosts.dropped_samples + excluded.dropped_samples,
			last_seen = `+s.d.Greatest+`(agent_hosts.last_seen, excluded.last_seen)`,
			host, seqInt(seq), seqInt(droppedResults), seqInt(droppedSamples), ms(seen))
		return err
	})
}

// SavePush records the last report of a push check.
func (s *Store) SavePush(ctx context.Context, checkName string, r check.Result, at time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO push_reports(check_name, watch_since, at, t, status, duration_us, output, long_output, perf)
			VALUES (?,?,?,?,?,?,?,?,?)
			ON CONFLICT(check_name) DO UPDATE SET at = excluded.at, t = excluded.t, status = excluded.status,
			duration_us = excluded.duration_us, output = excluded.output, long_output = excluded.long_output, perf = excluded.perf`,
			checkName, ms(at), ms(at), ms(r.Time), int(r.Status), r.Duration.Microseconds(), r.Output, r.Long, check.PerfString(r.Perf))
		return err
	})
}

// WatchPush records since when a push check has been waiting for its first
// report, unless that is known already.
func (s *Store) WatchPush(ctx context.Context, checkName string, since time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO push_reports(check_name, watch_since) VALUES (?,?) ON CONFLICT(check_name) DO NOTHING`, checkName, ms(since))
		return err
	})
}

// Pushes returns every push check's record.
func (s *Store) Pushes(ctx context.Context) ([]store.PushRecord, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_name, watch_since, at, t, status, duration_us, output, long_output, perf FROM push_reports`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.PushRecord
	for rows.Next() {
		var p store.PushRecord
		var since, at, t, dur int64
		var status int
		var perf string
		if err := rows.Scan(&p.Check, &since, &at, &t, &status, &dur, &p.Result.Output, &p.Result.Long, &perf); err != nil {
			return nil, err
		}
		p.WatchSince, p.At = fromMS(since), fromMS(at)
		p.Result.Time, p.Result.Status, p.Result.Duration = fromMS(t), check.Status(status), time.Duration(dur)*time.Microsecond
		p.Result.Perf, _ = check.ParsePerf(perf)
		out = append(out, p)
	}
	return out, rows.Err()
}

// ForgetPush deletes a push check's record (the check was removed).
func (s *Store) ForgetPush(ctx context.Context, checkName string) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM push_reports WHERE check_name = ?`, checkName)
		return err
	})
}

// ResetAgentSeq sets a host's stored batch Seq, also backwards (the agent
// re-synchronised its numbering).
func (s *Store) ResetAgentSeq(ctx context.Context, host string, seq uint64) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO agent_hosts(host, last_seq) VALUES (?,?)
			ON CONFLICT(host) DO UPDATE SET last_seq = excluded.last_seq`, host, seqInt(seq))
		return err
	})
}
