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
// the go command treats specially as module path elements or patterns, and
// the environments.
var Reserved = []string{
	"all", "bin", "botctl", "botfleet", "botkit", "bots", "cmd", "dev", "go", "internal",
	"local", "main", "manifests", "pkg", "prd", "std", "test", "testdata", "tools", "vendor",
}

// NameError is a bot name New refuses.
type NameError struct {
	Name   string
	Reason string
}

func (e *NameError) Error() string { return fmt.Sprintf("bot name %q: %s", e.Name, e.Reason) }

// CheckName returns a *NameError when name cannot be a bot's: it must be a
// lowercase letter followed by lowercase letters, digits and dashes, not
// end in a dash, be at most MaxNameLen long and not be Reserved. The name
// is also a DNS-1123 label, a Go module path element, an image and a
// Kubernetes and Argo CD name.
func CheckName(name string) error {
	bad := func(format string, args ...any) error {
		return &NameError{Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case name == "":
		return bad("empty; want a lowercase letter followed by lowercase letters, digits and dashes, e.g. deploy-bot")
	case len(name) > MaxNameLen:
		return bad("%d characters, at most %d", len(name), MaxNameLen)
	case name[0] < 'a' || name[0] > 'z':
		return bad("must start with a lowercase letter")
	case strings.HasSuffix(name, "-"):
		return bad("must not end in a dash")
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return bad("%q is not allowed: use lowercase letters, digits and dashes", c)
		}
	}
	if slices.Contains(Reserved, name) {
		return bad("reserved (the reserved names are %s)", strings.Join(Reserved, ", "))
	}
	return nil
}
