package metrics

// Metadata is what Prometheus' /api/v1/metadata says of a metric: its type
// (counter, gauge, info…), help text and unit.
type Metadata struct {
	Type string `json:"type"`
	Help string `json:"help"`
	Unit string `json:"unit"`
}

// KnownMetadata describes the series mamori writes: the agents' node
// series (named and typed as Node Exporter's, so its dashboards and
// recording rules apply) and check perfdata.
var KnownMetadata = map[string]Metadata{
	PerfMetric:                            {"gauge", "Performance data of a check result (labels check, perf, unit).", ""},
	"node_load1":                          {"gauge", "1m load average.", ""},
	"node_load5":                          {"gauge", "5m load average.", ""},
	"node_load15":                         {"gauge", "15m load average.", ""},
	"node_cpu_seconds_total":              {"counter", "Seconds the CPUs spent in each mode.", "seconds"},
	"node_memory_MemTotal_bytes":          {"gauge", "Memory information field MemTotal_bytes.", "bytes"},
	"node_memory_MemAvailable_bytes":      {"gauge", "Memory information field MemAvailable_bytes.", "bytes"},
	"node_memory_MemFree_bytes":           {"gauge", "Memory information field MemFree_bytes.", "bytes"},
	"node_memory_Buffers_bytes":           {"gauge", "Memory information field Buffers_bytes.", "bytes"},
	"node_memory_Cached_bytes":            {"gauge", "Memory information field Cached_bytes.", "bytes"},
	"node_memory_SwapTotal_bytes":         {"gauge", "Memory information field SwapTotal_bytes.", "bytes"},
	"node_memory_SwapFree_bytes":          {"gauge", "Memory information field SwapFree_bytes.", "bytes"},
	"node_filesystem_size_bytes":          {"gauge", "Filesystem size in bytes.", "bytes"},
	"node_filesystem_avail_bytes":         {"gauge", "Filesystem space available to non-root users in bytes.", "bytes"},
	"node_filesystem_free_bytes":          {"gauge", "Filesystem free space in bytes.", "bytes"},
	"node_filesystem_files":               {"gauge", "Filesystem total file nodes.", ""},
	"node_filesystem_files_free":          {"gauge", "Filesystem total free file nodes.", ""},
	"node_disk_read_bytes_total":          {"counter", "The total number of bytes read successfully.", "bytes"},
	"node_disk_written_bytes_total":       {"counter", "The total number of bytes written successfully.", "bytes"},
	"node_disk_reads_completed_total":     {"counter", "The total number of reads completed successfully.", ""},
	"node_disk_writes_completed_total":    {"counter", "The total number of writes completed successfully.", ""},
	"node_network_receive_bytes_total":    {"counter", "Network device statistic receive_bytes.", "bytes"},
	"node_network_transmit_bytes_total":   {"counter", "Network device statistic transmit_bytes.", "bytes"},
	"node_network_receive_packets_total":  {"counter", "Network device statistic receive_packets.", ""},
	"node_network_transmit_packets_total": {"counter", "Network device statistic transmit_packets.", ""},
	"node_network_receive_errs_total":     {"counter", "Network device statistic receive_errs.", ""},
	"node_network_transmit_errs_total":    {"counter", "Network device statistic transmit_errs.", ""},
	"node_procs_total":                    {"gauge", "Number of processes.", ""},
	"node_boot_time_seconds":              {"gauge", "Node boot time, in unixtime.", "seconds"},
	"node_time_seconds":                   {"gauge", "System time in seconds since epoch (1970).", "seconds"},
	"node_uname_info":                     {"gauge", "Labeled system information as provided by the uname system call.", ""},
}
