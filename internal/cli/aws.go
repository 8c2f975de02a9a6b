package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/cloud"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

// cmdAWS runs `mamori aws discover`.
func cmdAWS(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "discover" {
		fmt.Fprintln(stderr, "usage: mamori aws discover --account NAME [--config FILE] [--region R] [--tags k=v,...] [--services ec2,rds] [--write FILE]")
		return 2
	}
	fs := flag.NewFlagSet("mamori aws discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file declaring the account (aws_accounts)")
	account := fs.String("account", "", "aws_accounts entry to list (empty: the environment's credentials)")
	region := fs.String("region", "", "only this region (default: every region of the account)")
	endpoint := fs.String("endpoint-url", "", "API endpoint instead of AWS's")
	tagList := fs.String("tags", "", "only resources with these tags (k=v,k2=v2)")
	services := fs.String("services", "", "only these services (default: all)")
	write := fs.String("write", "", "write the YAML to this file instead of standard output")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	tags, err := parseTags(*tagList)
	if err != nil {
		fmt.Fprintf(stderr, "mamori aws discover: --tags: %v\n", err)
		return 2
	}
	var accts []cloud.AWSAccount
	if *path != "" {
		cfg, err := loadConfig(*path)
		if err != nil {
			printConfigErrors(stderr, err)
			return 1
		}
		accts = cfg.AWSAccounts
	}
	hub := cloudaws.NewHub(accts)
	regions, err := discoverRegions(hub, *account, *region)
	if err != nil {
		fmt.Fprintf(stderr, "mamori aws discover: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	found, failed := discoverAll(ctx, hub, *account, *endpoint, regions, *services, tags, stderr)
	out, err := awscheck.RenderChecks(*account, found)
	if err != nil {
		fmt.Fprintf(stderr, "mamori aws discover: %v\n", err)
		return 1
	}
	if *write != "" {
		if err := os.WriteFile(*write, out, 0o644); err != nil {
			fmt.Fprintf(stderr, "mamori aws discover: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "wrote %s\n", *write)
	} else {
		stdout.Write(out)
	}
	if failed {
		return 1
	}
	return 0
}

func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not KEY=VALUE", kv)
		}
		tags[k] = v
	}
	return tags, nil
}

func discoverRegions(hub *cloudaws.Hub, account, region string) ([]string, error) {
	if region != "" {
		return []string{region}, nil
	}
	if account == "" {
		return []string{""}, nil // the environment's region
	}
	a, ok := hub.Account(account)
	if !ok {
		return nil, fmt.Errorf("account %q: %w (known: %s)", account, cloudaws.ErrUnknownAccount, strings.Join(hub.Accounts(), ", "))
	}
	if len(a.Regions) == 0 {
		return []string{""}, nil
	}
	return a.Regions, nil
}

// discoverAll runs every (selected) service's discovery in every region;
// a failing service is reported and the others go on.
func discoverAll(ctx context.Context, hub *cloudaws.Hub, account, endpoint string, regions []string, services string, tags map[string]string, stderr io.Writer) ([]awscheck.Found, bool) {
	want := map[string]bool{}
	for _, s := range strings.Split(services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			want[s] = true
		}
	}
	var found []awscheck.Found
	failed := false
	for _, region := range regions {
		ref, err := hub.Resolve(ctx, cloudaws.Ref{Account: account, Region: region, EndpointURL: endpoint})
		if err != nil {
			fmt.Fprintf(stderr, "mamori aws discover: %v\n", err)
			return nil, true
		}
		for _, d := range awscheck.Discoverers() {
			if len(want) > 0 && !want[d.Service] {
				continue
			}
			res, err := d.Discover(ctx, hub, ref, tags)
			if err != nil {
				fmt.Fprintf(stderr, "%s %s: %s\n", d.Service, ref, cloudaws.Explain(err, ref.Region))
				failed = true
				continue
			}
			fmt.Fprintf(stderr, "%s %s: %d resource(s)\n", d.Service, ref, len(res))
			found = append(found, awscheck.Found{Service: d.Service, Region: ref.Region, Resources: res})
		}
	}
	return found, failed
}
