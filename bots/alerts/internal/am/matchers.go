package am

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// matcherRE is one matcher as amtool and Alertmanager's UI take it:
// name, an operator, and a value that may be quoted.
var matcherRE = regexp.MustCompile(`^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)(.*)$`)

// ParseMatchers reads matchers such as `alertname=HighLatency
// severity=~"crit.*"`, separated by spaces or commas, and checks that they
// could match something: at least one must not match the empty string, as
// Alertmanager requires.
func ParseMatchers(s string) ([]Matcher, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	if len(fields) == 0 {
		return nil, fmt.Errorf("no matchers: give some such as alertname=HighLatency severity=critical")
	}
	var out []Matcher
	nonEmpty := false
	for _, f := range fields {
		m := matcherRE.FindStringSubmatch(f)
		if m == nil {
			return nil, fmt.Errorf("matcher %q: want name=value, name!=value, name=~regex or name!~regex", f)
		}
		v := m[3]
		if strings.HasPrefix(v, `"`) {
			uq, err := strconv.Unquote(v)
			if err != nil {
				return nil, fmt.Errorf("matcher %q: bad quoting", f)
			}
			v = uq
		}
		mt := Matcher{Name: m[1], Value: v, IsEqual: m[2] == "=" || m[2] == "=~", IsRegex: m[2] == "=~" || m[2] == "!~"}
		if mt.IsRegex {
			re, err := regexp.Compile("^(?:" + v + ")$")
			if err != nil {
				return nil, fmt.Errorf("matcher %q: %v", f, err)
			}
			if mt.IsEqual && !re.MatchString("") {
				nonEmpty = true
			}
		} else if mt.IsEqual && v != "" {
			nonEmpty = true
		}
		out = append(out, mt)
	}
	if !nonEmpty {
		return nil, fmt.Errorf("the matchers %q would silence every alert: at least one must match a non-empty value", s)
	}
	return out, nil
}

// ParseDuration reads a silence's duration: Go's units (90m, 2h30m) and
// days (1d, 7d), from a minute to 90 days.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if n, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	}
	if err != nil {
		return 0, fmt.Errorf("duration %q: want one such as 90m, 2h or 1d", s)
	}
	if d < time.Minute || d > 90*24*time.Hour {
		return 0, fmt.Errorf("duration %q: want between 1m and 90d", s)
	}
	return d, nil
}

// Equalities returns the label values that matchers pin with name=value,
// which access rules are checked against.
func Equalities(ms []Matcher) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		if m.IsEqual && !m.IsRegex {
			out[m.Name] = m.Value
		}
	}
	return out
}
