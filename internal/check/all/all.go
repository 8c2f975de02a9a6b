// Package all links every check type into the binary: one import line per
// check package. Adding a check type = its package + one line here.
package all

import (
	_ "github.com/mamori/mamori/internal/check/awshealthcheck"   // aws_health
	_ "github.com/mamori/mamori/internal/check/beanstalkcheck"   // aws_beanstalk
	_ "github.com/mamori/mamori/internal/check/cloudwatchcheck"  // cloudwatch
	_ "github.com/mamori/mamori/internal/check/directorycheck"   // aws_directory
	_ "github.com/mamori/mamori/internal/check/diskcheck"        // disk (agent)
	_ "github.com/mamori/mamori/internal/check/dnscheck"         // dns
	_ "github.com/mamori/mamori/internal/check/ec2check"         // aws_ec2
	_ "github.com/mamori/mamori/internal/check/ecscheck"         // aws_ecs
	_ "github.com/mamori/mamori/internal/check/efscheck"         // aws_efs (agent)
	_ "github.com/mamori/mamori/internal/check/elasticachecheck" // aws_elasticache
	_ "github.com/mamori/mamori/internal/check/elbcheck"         // aws_elb
	_ "github.com/mamori/mamori/internal/check/execcheck"        // exec
	_ "github.com/mamori/mamori/internal/check/ftpcheck"         // ftp
	_ "github.com/mamori/mamori/internal/check/heartbeatcheck"   // heartbeat
	_ "github.com/mamori/mamori/internal/check/httpcheck"        // http, https
	_ "github.com/mamori/mamori/internal/check/imapcheck"        // imap
	_ "github.com/mamori/mamori/internal/check/loadcheck"        // load (agent)
	_ "github.com/mamori/mamori/internal/check/logcheck"         // log (agent)
	_ "github.com/mamori/mamori/internal/check/logscheck"        // aws_logs
	_ "github.com/mamori/mamori/internal/check/mailcheck"        // mail_roundtrip
	_ "github.com/mamori/mamori/internal/check/memcheck"         // memory (agent)
	_ "github.com/mamori/mamori/internal/check/mssqlcheck"       // mssql
	_ "github.com/mamori/mamori/internal/check/mysqlcheck"       // mysql
	_ "github.com/mamori/mamori/internal/check/pingcheck"        // ping
	_ "github.com/mamori/mamori/internal/check/pop3check"        // pop3
	_ "github.com/mamori/mamori/internal/check/postgrescheck"    // postgres
	_ "github.com/mamori/mamori/internal/check/proccheck"        // process (agent)
	_ "github.com/mamori/mamori/internal/check/pushcheck"        // push
	_ "github.com/mamori/mamori/internal/check/rdscheck"         // aws_rds
	_ "github.com/mamori/mamori/internal/check/redshiftcheck"    // aws_redshift
	_ "github.com/mamori/mamori/internal/check/s3check"          // aws_s3
	_ "github.com/mamori/mamori/internal/check/servicecheck"     // service (agent)
	_ "github.com/mamori/mamori/internal/check/sescheck"         // aws_ses
	_ "github.com/mamori/mamori/internal/check/smtpcheck"        // smtp
	_ "github.com/mamori/mamori/internal/check/sshcheck"         // ssh
	_ "github.com/mamori/mamori/internal/check/tcpcheck"         // tcp
	_ "github.com/mamori/mamori/internal/check/tlscheck"         // tls_cert
	_ "github.com/mamori/mamori/internal/check/vpncheck"         // aws_vpn
	_ "github.com/mamori/mamori/internal/check/wineventcheck"    // windows_event (agent)
)
