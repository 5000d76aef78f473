package scaffold

import (
	"fmt"
	"slices"
	"strings"
)

// MaxNameLen is the longest bot name: the name is a DNS-1123 label (at most
// 63), and the longest object name derived from it, "<name>-slack" or the
// Argo CD Application "<name>-dev", must fit with room to spare.
const MaxNameLen = 40

// Reserved are names a bot cannot take: directories and words of the repo's
// layout and tools (make targets take BOT=NAME, botctl takes BOT...), names
// the go command treats specially as module path elements or patterns, the
// environments, and external-secrets, whose roles botfleet-external-secrets-<env>
// are the External Secrets Operator's, not a bot's.
var Reserved = []string{
	"all", "bin", "botctl", "botfleet", "botkit", "bots", "cmd", "dev", "external-secrets", "go", "internal",
	"local", "main", "manifests", "pkg", "prd", "std", "test", "testdata", "tools", "vendor",
}

// NameError is a bot name New refuses, with every reason.
type NameError struct {
	Name    string
	Reasons []string
	// Suggest is a valid name close to Name ("" if none): lowercased, with
	// dashes for the characters a name cannot have.
	Suggest string
}

func (e *NameError) Error() string {
	msg := fmt.Sprintf("bot name %q: %s", e.Name, strings.Join(e.Reasons, "; "))
	if e.Suggest != "" {
		msg += fmt.Sprintf(" (e.g. %q)", e.Suggest)
	}
	return msg
}

// CheckName returns a *NameError, with all its faults, when name cannot be
// a bot's: it must be a lowercase letter followed by lowercase letters,
// digits and dashes, not end in a dash, be at most MaxNameLen long and not
// be Reserved. The name is also a DNS-1123 label, a Go module path element,
// an image and a Kubernetes and Argo CD name.
func CheckName(name string) error {
	if name == "" {
		return &NameError{Name: name, Reasons: []string{"empty; want a lowercase letter followed by lowercase letters, digits and dashes, e.g. deploy-bot"}}
	}
	var reasons []string
	if len(name) > MaxNameLen {
		reasons = append(reasons, fmt.Sprintf("%d characters, at most %d", len(name), MaxNameLen))
	}
	if name[0] < 'a' || name[0] > 'z' {
		reasons = append(reasons, "must start with a lowercase letter")
	}
	var upper, other []string
	for _, c := range name {
		q := fmt.Sprintf("%q", c)
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		case c >= 'A' && c <= 'Z':
			if !slices.Contains(upper, q) {
				upper = append(upper, q)
			}
		default:
			if !slices.Contains(other, q) {
				other = append(other, q)
			}
		}
	}
	if len(upper) > 0 {
		reasons = append(reasons, "uppercase "+strings.Join(upper, ", ")+" not allowed")
	}
	if len(other) > 0 {
		reasons = append(reasons, strings.Join(other, ", ")+" not allowed")
	}
	if len(upper)+len(other) > 0 {
		reasons[len(reasons)-1] += ": use lowercase letters, digits and dashes"
	}
	if strings.HasSuffix(name, "-") {
		reasons = append(reasons, "must not end in a dash")
	}
	reserved := slices.Contains(Reserved, name)
	if reserved {
		reasons = append(reasons, "reserved (the reserved names are "+strings.Join(Reserved, ", ")+"): pick another name")
	}
	if len(reasons) == 0 {
		return nil
	}
	e := &NameError{Name: name, Reasons: reasons, Suggest: suggest(name)}
	if alt := name + "-bot"; reserved && len(reasons) == 1 && CheckName(alt) == nil {
		e.Suggest = alt
	}
	return e
}

// suggest returns a valid name close to name, or "".
func suggest(name string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b.WriteRune(c)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	s := strings.TrimRight(b.String(), "-")
	s = strings.TrimLeft(s, "0123456789-")
	if len(s) > MaxNameLen {
		s = strings.TrimRight(s[:MaxNameLen], "-")
	}
	if s == name || CheckName(s) != nil {
		return ""
	}
	return s
}
