// Package directorycheck is the "aws_directory" check type: the stage of an
// AWS Directory Service directory (Simple AD, Managed Microsoft AD, AD
// Connector) from DescribeDirectories.
package directorycheck

//go:generate go run ../../tools/sdkwrap -type dsClient -new newDS -alias ds github.com/aws/aws-sdk-go-v2/service/directoryservice DescribeDirectories ListTagsForResource

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ds "github.com/aws/aws-sdk-go-v2/service/directoryservice"
	"github.com/aws/aws-sdk-go-v2/service/directoryservice/types"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/check/awssvc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
)

func init() {
	check.Register(&check.Kind{
		Name:    "aws_directory",
		Label:   "AWS DIRECTORY",
		Summary: "stage of an AWS Directory Service directory: Active is OK, Impaired/Inoperable/Failed CRITICAL (DescribeDirectories)",
		Scope:   check.ScopeServer,
		Timeout: 30 * time.Second,
		New:     func() check.Spec { return &Spec{} },
	})
}

// Spec is the aws_directory check's configuration.
type Spec struct {
	awscheck.Target
	DirectoryID string `yaml:"directory_id" required:"true" help:"directory ID, e.g. d-1234567890"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := s.Target.Validate()
	if !strings.HasPrefix(s.DirectoryID, "d-") {
		errs = append(errs, check.Errf("directory_id", "must be a directory ID (d-…), not %q", s.DirectoryID))
	}
	return errs
}

// API is what the check needs of the Directory Service client.
type API interface {
	DescribeDirectories(ctx context.Context, in *ds.DescribeDirectoriesInput, opt ...func(*ds.Options)) (*ds.DescribeDirectoriesOutput, error)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	sp, hub := *s, awscheck.HubOf(env)
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		api, ref, err := awscheck.Client(ctx, hub, &sp.Target, "ds", newDS)
		if err != nil {
			return awscheck.ConfigError(err)
		}
		return sp.Run(ctx, api, ref)
	}), nil
}

// Run describes the directory and grades its stage.
func (s *Spec) Run(ctx context.Context, api API, ref cloudaws.Ref) check.Result {
	out, err := api.DescribeDirectories(ctx, &ds.DescribeDirectoriesInput{DirectoryIds: []string{s.DirectoryID}})
	if awssvc.NotFound(err) || err == nil && len(out.DirectoryDescriptions) == 0 {
		return awssvc.NotFoundResult("directory", s.DirectoryID, ref)
	}
	if err != nil {
		return awscheck.ErrorResult(ctx, ref, err)
	}
	return Evaluate(out.DirectoryDescriptions[0])
}

// Evaluate grades a directory's stage.
func Evaluate(d types.DirectoryDescription) check.Result {
	st := Grade(d.Stage)
	name := aws.ToString(d.Name)
	text := fmt.Sprintf("%s (%s, %s) is %s", aws.ToString(d.DirectoryId), name, d.Type, d.Stage)
	if reason := aws.ToString(d.StageReason); reason != "" && st != check.OK {
		text += ": " + reason
	}
	if d.StageLastUpdatedDateTime != nil && st != check.OK {
		text += " since " + d.StageLastUpdatedDateTime.UTC().Format(time.RFC3339)
	}
	return check.Resultf(st, "%s", text)
}

// Grade maps a directory stage to a status.
func Grade(s types.DirectoryStage) check.Status {
	switch s {
	case types.DirectoryStageActive:
		return check.OK
	case types.DirectoryStageImpaired, types.DirectoryStageInoperable, types.DirectoryStageFailed,
		types.DirectoryStageDeleted, types.DirectoryStageDeleting, types.DirectoryStageRestorefailed:
		return check.Critical
	}
	return check.Warning // Requested, Creating, Created, Restoring, Updating…: in transition
}
