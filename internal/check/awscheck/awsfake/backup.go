package awsfake

import (
	"strconv"
	"sync"
	"time"
)

// BackupJob is an AWS Backup job of the fake.
type BackupJob struct {
	ID, ResourceARN, Vault string
	State                  string // CREATED, PENDING, RUNNING, ABORTING, ABORTED, COMPLETED, FAILED, EXPIRED, PARTIAL
	Message                string // StatusMessage
	Created, Completed     time.Time
}

// Backup answers AWS Backup's ListBackupJobs (REST-JSON: GET /backup-jobs
// with the filters in the query string) from jobs a test adds.
type Backup struct {
	mu       sync.Mutex
	jobs     []BackupJob
	pageSize int
	queries  []map[string][]string
}

// NewBackup installs the AWS Backup handlers on s.
func NewBackup(s *Server) *Backup {
	b := &Backup{}
	s.HandleRESTJSON("backup", "GET", "/backup-jobs", "ListBackupJobs", b.listJobs)
	return b
}

// Add adds jobs.
func (b *Backup) Add(jobs ...BackupJob) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.jobs = append(b.jobs, jobs...)
}

// PageSize makes answers at most n jobs long (paging tests).
func (b *Backup) PageSize(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pageSize = n
}

// Queries lists the query string of every ListBackupJobs call.
func (b *Backup) Queries() []map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string][]string(nil), b.queries...)
}

func (b *Backup) listJobs(r *Request) (any, error) {
	q := r.Form
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queries = append(b.queries, q)
	var after time.Time
	if v := q.Get("createdAfter"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return nil, &Error{Status: 400, Code: "InvalidParameterValueException", Message: "createdAfter is not an ISO 8601 timestamp: " + v}
		}
		after = t
	}
	var out []map[string]any
	for _, j := range b.jobs {
		if (q.Get("resourceArn") != "" && j.ResourceARN != q.Get("resourceArn")) || (q.Get("state") != "" && j.State != q.Get("state")) ||
			(!after.IsZero() && j.Created.Before(after)) {
			continue
		}
		vault := j.Vault
		if vault == "" {
			vault = "Default"
		}
		m := map[string]any{"BackupJobId": j.ID, "ResourceArn": j.ResourceARN, "ResourceType": "EC2", "State": j.State,
			"BackupVaultName": vault, "AccountId": "123456789012", "CreationDate": epochSeconds(j.Created)}
		if j.Message != "" {
			m["StatusMessage"] = j.Message
		}
		if !j.Completed.IsZero() {
			m["CompletionDate"] = epochSeconds(j.Completed)
		}
		out = append(out, m)
	}
	size := b.pageSize
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, &Error{Status: 400, Code: "InvalidParameterValueException", Message: "maxResults must be between 1 and 1000"}
		}
		if size == 0 || n < size {
			size = n
		}
	}
	from := 0
	if tok := q.Get("nextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(out) {
			return nil, &Error{Status: 400, Code: "InvalidParameterValueException", Message: "invalid nextToken"}
		}
		from = n
	}
	to := len(out)
	if size > 0 {
		to = min(from+size, len(out))
	}
	res := map[string]any{"BackupJobs": out[from:to]}
	if to < len(out) {
		res["NextToken"] = strconv.Itoa(to)
	}
	return res, nil
}
