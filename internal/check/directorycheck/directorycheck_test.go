package directorycheck

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

func stage(stage, reason string) awsfake.Handler {
	return func(r *awsfake.Request) (any, error) {
		ids, _ := r.Input["DirectoryIds"].([]any)
		if len(ids) != 1 || ids[0] != "d-1234567890" {
			return nil, &awsfake.Error{Status: 400, Code: "EntityDoesNotExistException", Message: "Directory not found"}
		}
		return map[string]any{"DirectoryDescriptions": []any{map[string]any{
			"DirectoryId": "d-1234567890", "Name": "corp.example.com", "Type": "MicrosoftAD",
			"Stage": stage, "StageReason": reason, "StageLastUpdatedDateTime": 1.7645e9}}}, nil
	}
}

func TestDirectory(t *testing.T) {
	f, env := svctest.Fake(t)
	cases := []struct {
		stage string
		want  check.Status
		text  string
	}{
		{"Active", check.OK, "corp.example.com, MicrosoftAD) is Active"},
		{"Updating", check.Warning, "is Updating"},
		{"Impaired", check.Critical, "is Impaired: domain controller unreachable since 2025-"},
	}
	for _, c := range cases {
		t.Run(c.stage, func(t *testing.T) {
			f.Handle("ds", "DescribeDirectories", stage(c.stage, "domain controller unreachable"))
			r := svctest.Check(t, env, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: svctest.Target(f)})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		r := svctest.Check(t, env, "aws_directory", &Spec{DirectoryID: "d-0000000000", Target: svctest.Target(f)})
		if r.Status != check.Critical || !strings.Contains(r.Output, "not found in region") {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		f.Handle("ds", "DescribeDirectories", func(*awsfake.Request) (any, error) {
			return nil, &awsfake.Error{Status: 400, Code: "AccessDeniedException", Message: "not authorized"}
		})
		r := svctest.Check(t, env, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: svctest.Target(f)})
		if r.Status != check.Unknown || !strings.Contains(r.Output, "ds:DescribeDirectories") {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		f.Fail("ds", "DescribeDirectories", &awsfake.Error{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})
		f.Handle("ds", "DescribeDirectories", stage("Active", ""))
		r := svctest.Check(t, env, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: svctest.Target(f)})
		if r.Status != check.OK {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
}
