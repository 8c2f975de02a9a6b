package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// Languages of the console.
const (
	Japanese = "ja"
	English  = "en"
)

// catalog holds every UI string per language (i18n/*.json, embedded).
type catalog struct {
	msgs map[string]map[string]string
}

func mustCatalog() *catalog {
	c := &catalog{msgs: map[string]map[string]string{}}
	for _, lang := range []string{Japanese, English} {
		b, err := i18nFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			panic(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("web: i18n/%s.json: %v", lang, err))
		}
		c.msgs[lang] = m
	}
	return c
}

// Locale is a request's language and time zone.
type Locale struct {
	Lang string
	Loc  *time.Location
	msgs map[string]string
	en   map[string]string
}

// T translates a key; an unknown key shows as itself (tests catch them).
func (l *Locale) T(key string) string {
	if s, ok := l.msgs[key]; ok {
		return s
	}
	if s, ok := l.en[key]; ok {
		return s
	}
	return key
}

// Word translates a value of a fixed vocabulary (timeline kinds, delivery
// statuses): the catalog key is prefix+"."+value; a value without one is
// shown as it is.
func (l *Locale) Word(prefix, value string) string {
	key := prefix + "." + value
	if s := l.T(key); s != key {
		return s
	}
	return value
}

// Line is a timeline line in the reader's language and zone: its message
// ("tl."+key) with every argument localised (durations, times, words);
// the stored English text for a line without a message (comments, lines
// written before messages had keys) or one the catalogue lacks.
func (l *Locale) Line(tl incident.Timeline) string {
	m, ok := tl.Message()
	key := "tl." + m.Key
	if !ok || l.T(key) == key {
		return tl.Text
	}
	args := make([]string, len(m.Args))
	for i, a := range m.Args {
		switch {
		case a.D != nil:
			args[i] = l.Dur(time.Duration(*a.D * float64(time.Second)))
		case a.T != nil:
			args[i] = l.Time(*a.T)
		case a.K != "":
			args[i] = l.T(a.K)
			if args[i] == a.K {
				args[i] = a.K[strings.LastIndex(a.K, ".")+1:]
			}
		default:
			args[i] = a.S
		}
	}
	return fill(l.T(key), args)
}

// fill puts args into {0}, {1}, ... in one pass, so that an argument's own
// text (a check's output) is never read as a placeholder.
func fill(s string, args []string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return b.String() + s
		}
		j := strings.IndexByte(s[i:], '}')
		n, err := strconv.Atoi(s[i+1 : i+max(j, 1)])
		if j < 0 || err != nil || n < 0 || n >= len(args) {
			b.WriteString(s[:i+1])
			s = s[i+1:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(args[n])
		s = s[i+j+1:]
	}
}

// Tf translates a key and fills its {0}, {1}, ... placeholders.
func (l *Locale) Tf(key string, args ...any) string {
	s := l.T(key)
	for i, a := range args {
		s = strings.ReplaceAll(s, "{"+strconv.Itoa(i)+"}", fmt.Sprint(a))
	}
	return s
}

// Time formats a time in the user's zone ("" for the zero time).
func (l *Locale) Time(t any) string {
	var tt time.Time
	switch v := t.(type) {
	case time.Time:
		tt = v
	case *time.Time:
		if v == nil {
			return ""
		}
		tt = *v
	default:
		return ""
	}
	if tt.IsZero() {
		return ""
	}
	return tt.In(l.Loc).Format("2006-01-02 15:04:05")
}

// Zone names the user's time zone.
func (l *Locale) Zone() string { return l.Loc.String() }

// Ago says how long ago a time was ("" for the zero time).
func (l *Locale) Ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return l.Tf("time.ago", l.Dur(time.Since(t)))
}

// Dur formats a duration briefly in the user's language.
func (l *Locale) Dur(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return l.Tf("dur.s", int(d.Seconds()))
	case d < time.Hour:
		return l.Tf("dur.m", int(d.Minutes()))
	case d < 48*time.Hour:
		return l.Tf("dur.hm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return l.Tf("dur.dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// Seconds formats a duration in seconds (for check durations).
func (l *Locale) Seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + " s"
}

// Other is the other language (for the switch).
func (l *Locale) Other() string {
	if l.Lang == Japanese {
		return English
	}
	return Japanese
}

// locale picks the language: the lang cookie (an explicit switch), else the
// user's setting, else Accept-Language; the time zone: the user's, else
// Asia/Tokyo for Japanese and UTC for English.
func (c *Console) locale(r *http.Request, u User) *Locale {
	lang := ""
	if ck, err := r.Cookie(LangCookie); err == nil && (ck.Value == Japanese || ck.Value == English) {
		lang = ck.Value
	}
	if lang == "" {
		lang = normLang(u.Lang)
	}
	if lang == "" {
		lang = acceptLanguage(r.Header.Get("Accept-Language"))
	}
	l := &Locale{Lang: lang, msgs: c.cat.msgs[lang], en: c.cat.msgs[English]}
	if u.TimeZone != "" {
		if loc, err := time.LoadLocation(u.TimeZone); err == nil {
			l.Loc = loc
		}
	}
	if l.Loc == nil {
		// The zone follows the account, never the language switch: the
		// account's language picks the default (Asia/Tokyo for ja, UTC for
		// en), and an account without one gets Asia/Tokyo, the product's
		// default zone (as tenants' reports).
		if ul := normLang(u.Lang); ul != "" {
			l.Loc = defaultZone(ul)
		} else {
			l.Loc = tokyo
		}
	}
	return l
}

var tokyo = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		return time.FixedZone("JST", 9*3600)
	}
	return loc
}()

func defaultZone(lang string) *time.Location {
	if lang == Japanese {
		return tokyo
	}
	return time.UTC
}

func normLang(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(s, "ja"):
		return Japanese
	case strings.HasPrefix(s, "en"):
		return English
	}
	return ""
}

// acceptLanguage picks ja or en from an Accept-Language header by quality;
// no header means Japanese, a header naming neither means English.
func acceptLanguage(h string) string {
	if strings.TrimSpace(h) == "" {
		return Japanese
	}
	type cand struct {
		lang string
		q    float64
		i    int
	}
	var cs []cand
	for i, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if l := normLang(tag); l != "" && q > 0 {
			cs = append(cs, cand{l, q, i})
		}
	}
	if len(cs) == 0 {
		return English
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].q > cs[b].q })
	return cs[0].lang
}
