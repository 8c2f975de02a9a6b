package fieldset

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check"
)

type sample struct {
	URL      string            `yaml:"url" help:"target" required:"true"`
	Codes    []string          `yaml:"expect_status"`
	Ports    []int             `yaml:"ports"`
	Warning  time.Duration     `yaml:"warning"`
	Verbose  bool              `yaml:"verbose"`
	Count    int               `yaml:"count"`
	Ratio    float64           `yaml:"ratio"`
	Headers  map[string]string `yaml:"headers"`
	Password check.Secret      `yaml:"password"`
	Value    check.Range       `yaml:"warning_value"`
}

func TestDecodeMappingReportsEveryIssue(t *testing.T) {
	t.Setenv("FS_TEST_PW", "s3cret")
	src := `
url: http://x/
expect_status: [200, "3xx"]
ports: [1, two, 3]
warning: fast
verbose: maybe
count: 1.5
ratio: 0.25
headers: {X-A: b}
password: ${FS_TEST_PW}
warning_value: "10:5"
colour: blue
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var s sample
	issues := DecodeMapping(doc.Content[0], &s, nil)
	want := map[string]int{ // key → line
		"ports[1]": 4, "warning": 5, "verbose": 6, "count": 7, "warning_value": 11, "colour": 12,
	}
	got := map[string]int{}
	for _, is := range issues {
		got[is.Key] = is.Line
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("issue for %s at line %d, want line %d (all: %+v)", k, got[k], line, issues)
		}
	}
	if len(issues) != len(want) {
		t.Errorf("got %d issues, want %d: %+v", len(issues), len(want), issues)
	}
	if s.URL != "http://x/" || len(s.Codes) != 2 || s.Codes[1] != "3xx" || s.Ratio != 0.25 || s.Headers["X-A"] != "b" {
		t.Errorf("decoded %+v", s)
	}
	if s.Password.Reveal() != "s3cret" || strings.Contains(s.Password.String(), "s3cret") {
		t.Errorf("secret: reveal %q string %q", s.Password.Reveal(), s.Password.String())
	}
}

func TestUnknownKeySuggestion(t *testing.T) {
	var doc yaml.Node
	_ = yaml.Unmarshal([]byte("ulr: x\n"), &doc)
	issues := DecodeMapping(doc.Content[0], &sample{}, nil)
	if len(issues) != 1 || !strings.Contains(issues[0].Msg, `did you mean "url"`) {
		t.Fatalf("issues %+v", issues)
	}
}

func TestSetAndFlags(t *testing.T) {
	s := sample{Codes: []string{"default"}}
	fs := Of(&s)
	byKey := map[string]Field{}
	for _, f := range fs {
		byKey[f.Key] = f
	}
	if byKey["expect_status"].Flag() != "expect-status" {
		t.Fatalf("flag name %q", byKey["expect_status"].Flag())
	}
	f := byKey["expect_status"]
	f.Reset()
	if err := f.Set("200,301"); err != nil || len(s.Codes) != 2 {
		t.Fatalf("set list: %v %v", err, s.Codes)
	}
	if err := byKey["headers"].Set("A=1,B=2"); err != nil || s.Headers["B"] != "2" {
		t.Fatalf("set map: %v %v", err, s.Headers)
	}
	if missing := MissingRequired(&sample{}); len(missing) != 1 || missing[0].Field != "url" {
		t.Fatalf("missing %+v", missing)
	}
}
