// Package all links every recovery action type into the binary.
package all

import (
	_ "github.com/mamori/mamori/internal/recovery/aws_ec2" // aws_ec2
	_ "github.com/mamori/mamori/internal/recovery/command" // command
	_ "github.com/mamori/mamori/internal/recovery/http"    // http
	_ "github.com/mamori/mamori/internal/recovery/reboot"  // reboot
	_ "github.com/mamori/mamori/internal/recovery/service" // service
	_ "github.com/mamori/mamori/internal/recovery/ssh"     // ssh
)
