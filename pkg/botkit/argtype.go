package botkit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// argType turns one word of a message into an argument's canonical value,
// or says why it cannot. A value is made canonical once, when the message is
// matched; the access check, the audit line and the handler all see that
// same value, so no handler can derive a different one than the rule saw.
type argType struct {
	// spec is the type as written in the pattern, after the colon; "" for
	// a plain {name}.
	spec string
	// kind is what the value is: word, name, plain, int, duration, user,
	// channel or choice.
	kind string
	// canonical turns the typed word (Slack markup and all) into the value.
	canonical func(word string) (string, error)
	// ruleable types have one spelling per value, so access rules may
	// match them; an untyped word has many (markup decoded, case kept as
	// typed: "PRD" and "prd"), so rules may not. plain keeps case, but
	// case is meaningful there (git branches), so it compares exactly.
	ruleable bool
	// shape is how usage shows the argument, inside <>.
	shape func(param string) string
}

// Limits of the name type.
const maxNameLen = 63

// parseArgType returns the type spec names:
//
//	(empty)   any word; Slack markup decoded (<@U1> is U1, <https://x|x> is https://x)
//	name      an ASCII name such as an app or environment: letters, digits,
//	          '-', '_', '.', starting with a letter or digit; lowercased
//	plain     a word as typed, such as a branch: no Slack markup (a #channel
//	          or @user link), no control characters; case kept
//	int       a whole number; N..M bounds it (N..M alone is an int too)
//	duration  a Go duration such as 90s, 5m or 1h30m
//	user      a user mention (<@U123>) or user ID; the value is the ID
//	channel   a channel link (<#C123|name>) or channel ID; the value is the ID
//	a|b|c     one of the words listed, without regard to ASCII case
func parseArgType(spec string) (*argType, error) {
	switch spec {
	case "":
		return &argType{kind: "word", canonical: func(w string) (string, error) { return decode(w), nil }, shape: plainShape}, nil
	case "name":
		return &argType{spec: spec, kind: "name", canonical: canonicalName, ruleable: true, shape: plainShape}, nil
	case "plain":
		return &argType{spec: spec, kind: "plain", canonical: canonicalPlain, ruleable: true, shape: plainShape}, nil
	case "int":
		return intType(spec, minInt, maxInt), nil
	case "duration":
		return &argType{spec: spec, kind: "duration", canonical: canonicalDuration, ruleable: true, shape: plainShape}, nil
	case "user":
		return &argType{spec: spec, kind: "user", canonical: canonicalUser, ruleable: true, shape: func(p string) string { return "@" + p }}, nil
	case "channel":
		return &argType{spec: spec, kind: "channel", canonical: canonicalChannel, ruleable: true, shape: func(p string) string { return "#" + p }}, nil
	}
	if strings.Contains(spec, "..") {
		return rangeType(spec)
	}
	if strings.Contains(spec, "|") {
		return choiceType(spec)
	}
	return nil, fmt.Errorf("unknown argument type %q (want name, plain, int, N..M, duration, user, channel or a|b|c)", spec)
}

const (
	minInt = -1 << 53 // integers a JSON number holds exactly
	maxInt = 1 << 53
)

func rangeType(spec string) (*argType, error) {
	lo, hi, _ := strings.Cut(spec, "..")
	l, err1 := strconv.ParseInt(lo, 10, 64)
	h, err2 := strconv.ParseInt(hi, 10, 64)
	if err1 != nil || err2 != nil || l > h || l < minInt || h > maxInt {
		return nil, fmt.Errorf("bad range %q (want N..M, whole numbers, N ≤ M)", spec)
	}
	return intType(spec, l, h), nil
}

func intType(spec string, lo, hi int64) *argType {
	t := &argType{spec: spec, kind: "int", ruleable: true}
	t.canonical = func(w string) (string, error) {
		w = unquote(w)
		n, err := strconv.ParseInt(w, 10, 64)
		if err != nil || w[0] == '+' {
			return "", fmt.Errorf("is not a whole number")
		}
		if n < lo || n > hi {
			if lo == minInt {
				return "", fmt.Errorf("is more than %d", hi)
			}
			if hi == maxInt {
				return "", fmt.Errorf("is less than %d", lo)
			}
			return "", fmt.Errorf("is not from %d to %d", lo, hi)
		}
		return strconv.FormatInt(n, 10), nil
	}
	t.shape = plainShape // the range is in the error that needs it
	return t
}

func choiceType(spec string) (*argType, error) {
	choices := strings.Split(spec, "|")
	seen := map[string]bool{}
	for _, c := range choices {
		if _, err := canonicalName(c); err != nil || c != strings.ToLower(c) {
			return nil, fmt.Errorf("bad choice %q in %q (want lowercase names such as dev|prd)", c, spec)
		}
		if seen[c] {
			return nil, fmt.Errorf("choice %q listed twice in %q", c, spec)
		}
		seen[c] = true
	}
	t := &argType{spec: spec, kind: "choice", ruleable: true, shape: func(string) string { return spec }}
	t.canonical = func(w string) (string, error) {
		w = unquote(w)
		for _, c := range choices {
			if asciiEqualFold(w, c) {
				return c, nil
			}
		}
		return "", fmt.Errorf("is not one of %s", strings.Join(choices, ", "))
	}
	return t, nil
}

func plainShape(p string) string { return p }

// unquote removes one pair of backticks around a word: people format names
// as code in Slack, and `main` means main.
func unquote(w string) string {
	if len(w) > 2 && w[0] == '`' && w[len(w)-1] == '`' {
		return w[1 : len(w)-1]
	}
	return w
}

// canonicalName accepts an ASCII name and lowercases it by ASCII rules only:
// strings.ToLower maps "İ" to "i", which would let "lİve" pass a rule on
// "live" and then act on "live".
func canonicalName(w string) (string, error) {
	w = unquote(w)
	if err := markupOrControl(w); err != nil {
		return "", err
	}
	if w == "" || len(w) > maxNameLen {
		return "", fmt.Errorf("is not a name of 1 to %d characters", maxNameLen)
	}
	b := []byte(w)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return "", fmt.Errorf("is not a name: use ASCII letters, digits, '-', '_' and '.', starting with a letter or digit")
		}
	}
	return string(b), nil
}

// canonicalPlain accepts a word as typed, with Slack's &lt; &gt; &amp;
// undone, and refuses what Slack made of it behind the user's back: a
// #channel or @user link shows its label but sends an ID, so "#main" would
// become "C0123".
func canonicalPlain(w string) (string, error) {
	w = unquote(w)
	if err := markupOrControl(w); err != nil {
		return "", err
	}
	return unescape(w), nil
}

// markupOrControl refuses Slack markup and control characters in a word that
// must be taken as typed.
func markupOrControl(w string) error {
	if i := strings.IndexByte(w, '<'); i >= 0 && strings.IndexByte(w[i:], '>') > 0 {
		inner := w[i+1:]
		switch {
		case strings.HasPrefix(inner, "#"):
			return fmt.Errorf("is a link to a Slack channel, not text: type the name without a leading # (or in `backticks`)")
		case strings.HasPrefix(inner, "@"), strings.HasPrefix(inner, "!"):
			return fmt.Errorf("is a Slack mention, not text: type the name without a leading @ (or in `backticks`)")
		default:
			return fmt.Errorf("is a link, not text: type the name as plain text (or in `backticks`)")
		}
	}
	for _, r := range w {
		if r == utf8.RuneError || r < ' ' || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("contains a control or invalid character")
		}
	}
	return nil
}

func canonicalDuration(w string) (string, error) {
	d, err := time.ParseDuration(unquote(w))
	if err != nil || d <= 0 {
		return "", fmt.Errorf("is not a duration such as 90s, 5m or 1h30m")
	}
	return d.String(), nil
}

// canonicalUser accepts <@U123>, <@U123|name> or a bare user ID.
func canonicalUser(w string) (string, error) {
	id := w
	if strings.HasPrefix(w, "<@") && strings.HasSuffix(w, ">") {
		id, _, _ = strings.Cut(w[2:len(w)-1], "|")
	}
	if !slackID(id, "UW") {
		return "", fmt.Errorf("is not a user: mention them, e.g. @alice")
	}
	return id, nil
}

// canonicalChannel accepts <#C123>, <#C123|name> or a bare channel ID.
func canonicalChannel(w string) (string, error) {
	id := w
	if strings.HasPrefix(w, "<#") && strings.HasSuffix(w, ">") {
		id, _, _ = strings.Cut(w[2:len(w)-1], "|")
	}
	if !slackID(id, "CGD") {
		return "", fmt.Errorf("is not a channel: link it, e.g. #general")
	}
	return id, nil
}

// slackID reports whether s looks like a Slack ID starting with one of
// prefixes: an upper-case letter, then upper-case letters and digits.
func slackID(s, prefixes string) bool {
	if len(s) < 3 || len(s) > 32 || !strings.ContainsRune(prefixes, rune(s[0])) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// asciiEqualFold is strings.EqualFold for ASCII only: "İ" never equals "i".
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
