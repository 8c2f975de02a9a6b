package tmpl

import (
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/notify"
)

// ActionLines tells the recovery actions of a message in lang, with their
// times in loc: "nginx restarted automatically at 03:12 (exit 0), service
// recovered" / "03:12 に nginx を自動で再起動しました（終了コード 0）。サービスは復旧しました".
func ActionLines(lang string, loc *time.Location, notes []notify.ActionNote) []string {
	out := make([]string, 0, len(notes))
	for _, n := range notes {
		if Lang(lang) == Japanese {
			out = append(out, actionJa(n, n.At.In(loc).Format("15:04")))
		} else {
			out = append(out, actionEn(n, n.At.In(loc).Format("15:04")))
		}
	}
	return out
}

func actionEn(n notify.ActionNote, at string) string {
	if n.Action == "exhausted" {
		return fmt.Sprintf("automatic recovery gave up at %s: %s", at, n.What)
	}
	what := map[string]string{"service": n.What + " restarted", "reboot": n.What + " rebooted", "command": n.What + " run"}[n.Action]
	if what == "" {
		what = n.What
	}
	how := "automatically"
	if !n.Auto {
		how = "by " + n.Who
	}
	switch n.Outcome {
	case notify.ActionRefused:
		return fmt.Sprintf("%s %s at %s: refused (not in the agent's allowlist)", what, how, at)
	case notify.ActionDryRun:
		return fmt.Sprintf("dry run: %s %s at %s (nothing ran)", what, how, at)
	}
	s := fmt.Sprintf("%s %s at %s (exit %d)", what, how, at, n.Exit)
	if n.Error != "" {
		s += ": " + n.Error
	}
	return s + map[string]string{notify.ActionRecovered: ", service recovered", notify.ActionNoHelp: ", did not help"}[n.Outcome]
}

func actionJa(n notify.ActionNote, at string) string {
	if n.Action == "exhausted" {
		return fmt.Sprintf("%s に自動復旧を断念しました：%s", at, n.What)
	}
	verb := map[string]string{"service": "再起動", "reboot": "リブート"}[n.Action]
	if verb == "" {
		verb = "実行"
	}
	// "16:30 に websvc を自動で再起動" / "16:30 に ops が web1 をリブート"
	did := fmt.Sprintf("%s に %s を自動で%s", at, n.What, verb)
	if !n.Auto {
		did = fmt.Sprintf("%s に %s が %s を%s", at, n.Who, n.What, verb)
	}
	switch n.Outcome {
	case notify.ActionRefused:
		return did + "しようとしましたが、エージェントの許可リストにないため拒否されました"
	case notify.ActionDryRun:
		return "ドライラン：" + did + "（実際には実行していません）"
	}
	s := fmt.Sprintf("%sしました（終了コード %d）", did, n.Exit)
	if n.Error != "" {
		s += "：" + n.Error
	}
	return s + map[string]string{notify.ActionRecovered: "。サービスは復旧しました", notify.ActionNoHelp: "。効果はありませんでした"}[n.Outcome]
}
