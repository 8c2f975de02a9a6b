package all

import (
	"testing"

	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/notify"
)

func TestAllRegistered(t *testing.T) {
	want := map[string]string{"chatwork": "", "email": "email", "line": "line_user_id", "slack": "", "twilio": "phone", "webhook": ""}
	for name, recipient := range want {
		k, ok := notify.Lookup(name)
		if !ok {
			t.Errorf("channel type %s not registered", name)
			continue
		}
		if k.Recipient != recipient || k.Summary == "" {
			t.Errorf("%s: recipient %q summary %q", name, k.Recipient, k.Summary)
		}
		for _, f := range fieldset.Of(k.New()) {
			if f.Help == "" {
				t.Errorf("%s.%s has no help", name, f.Key)
			}
		}
	}
}
