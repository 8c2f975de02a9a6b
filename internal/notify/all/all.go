// Package all links every notification channel type into the binary.
package all

import (
	_ "github.com/mamori/mamori/internal/notify/chatwork"
	_ "github.com/mamori/mamori/internal/notify/email"
	_ "github.com/mamori/mamori/internal/notify/line"
	_ "github.com/mamori/mamori/internal/notify/slack"
	_ "github.com/mamori/mamori/internal/notify/twilio"
	_ "github.com/mamori/mamori/internal/notify/webhook"
)
