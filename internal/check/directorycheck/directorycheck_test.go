package directorycheck

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awsseam/awsfake"
)

func stage(stage, reason string) awsfake.Handler {
	return func(r *awsfake.Request) awsfake.Reply {
		ids, _ := r.JSON["DirectoryIds"].([]any)
		if len(ids) != 1 || ids[0] != "d-1234567890" {
			return awsfake.JSONError(400, "EntityDoesNotExistException", "Directory not found")
		}
		return awsfake.JSON(map[string]any{"DirectoryDescriptions": []any{map[string]any{
			"DirectoryId": "d-1234567890", "Name": "corp.example.com", "Type": "MicrosoftAD",
			"Stage": stage, "StageReason": reason, "StageLastUpdatedDateTime": 1.7645e9}}})
	}
}

func TestDirectory(t *testing.T) {
	awsfake.Env(t)
	f := awsfake.New(t)
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
			f.Handle("DescribeDirectories", stage(c.stage, "domain controller unreachable"))
			r := f.Check(t, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: awsfake.Target(f)})
			if r.Status != c.want || !strings.Contains(r.Output, c.text) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.Output, c.want, c.text)
			}
		})
	}
	t.Run("not found", func(t *testing.T) {
		r := f.Check(t, "aws_directory", &Spec{DirectoryID: "d-0000000000", Target: awsfake.Target(f)})
		if r.Status != check.Critical || !strings.Contains(r.Output, "not found in region") {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		f.Handle("DescribeDirectories", func(*awsfake.Request) awsfake.Reply {
			return awsfake.JSONError(400, "AccessDeniedException", "not authorized")
		})
		r := f.Check(t, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: awsfake.Target(f)})
		if r.Status != check.Unknown || !strings.Contains(r.Output, "ds:DescribeDirectories") {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
	t.Run("throttled", func(t *testing.T) {
		f.Handle("DescribeDirectories", awsfake.Throttle(1, awsfake.JSONError(400, "ThrottlingException", "Rate exceeded"), stage("Active", "")))
		r := f.Check(t, "aws_directory", &Spec{DirectoryID: "d-1234567890", Target: awsfake.Target(f)})
		if r.Status != check.OK {
			t.Fatalf("%s %q", r.Status, r.Output)
		}
	})
}
