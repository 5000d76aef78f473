package botkit

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePatternErrors(t *testing.T) {
	tests := []struct {
		name, pattern, wantErr string
	}{
		{"empty", "   ", "empty pattern"},
		{"starts with param", "{app} deploy", "must start with a literal"},
		{"starts with group", "[deploy]", "must start with a literal"},
		{"unclosed param", "deploy {app", "unclosed parameter"},
		{"bad param name", "deploy {App}", "bad parameter name"},
		{"empty param name", "deploy {}", "bad parameter name"},
		{"duplicate param", "copy {x} {x}", "appears twice"},
		{"rest not last", "run {cmd...} now", "nothing may follow"},
		{"rest before group", "run {cmd...} [now]", "nothing may follow"},
		{"nested group", "a [b [c]]", "nested ["},
		{"unbalanced close", "a b]", "unbalanced ]"},
		{"unclosed group", "a [b", "unclosed ["},
		{"empty group", "a []", "empty optional group"},
		{"required after group", "deploy [to {env}] {app}", "optional groups must come last"},
		{"markup in literal", "deploy <app>", "bad literal word"},
		{"non-ascii literal", "déploy", "printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parsePattern(tt.pattern)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parsePattern(%q) = %v, want error containing %q", tt.pattern, err, tt.wantErr)
			}
		})
	}
}

func TestParsePatternUsage(t *testing.T) {
	tests := []struct {
		pattern, usage string
		params         []string
	}{
		{"ping", "ping", nil},
		{"Deploy {app} {branch} [to {env}]", "deploy &lt;app&gt; &lt;branch&gt; [to &lt;env&gt;]", []string{"app", "branch", "env"}},
		{"history [{app}] [{env}]", "history [&lt;app&gt;] [&lt;env&gt;]", []string{"app", "env"}},
		{"echo {text...}", "echo &lt;text...&gt;", []string{"text"}},
		{"note [{text...}]", "note [&lt;text...&gt;]", []string{"text"}},
		{"deploy {app} [to {env}]", "deploy &lt;app&gt; [to &lt;env&gt;]", []string{"app", "env"}},
	}
	for _, tt := range tests {
		p, err := parsePattern(tt.pattern)
		if err != nil {
			t.Fatalf("parsePattern(%q): %v", tt.pattern, err)
		}
		if got := p.usage(); got != tt.usage {
			t.Errorf("usage(%q) = %q, want %q", tt.pattern, got, tt.usage)
		}
		if diff := cmp.Diff(tt.params, p.params); diff != "" {
			t.Errorf("params(%q) (-want +got):\n%s", tt.pattern, diff)
		}
	}
}

func TestCommandPanicsOnAmbiguity(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		want     string
	}{
		{"duplicate", []string{"deploy {app}", "deploy {x}"}, "ambiguous"},
		{"duplicate case", []string{"ping", "PING"}, "ambiguous"},
		{"optional expands into other", []string{"deploy {app} [to {env}]", "deploy {a} to {e}"}, "ambiguous"},
		{"optional absent equals other", []string{"deploy {app}", "deploy {app} [{branch}]"}, "ambiguous"},
		{"help reserved", []string{"help me"}, "help is generated"},
		{"malformed", []string{"deploy {app"}, "unclosed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New("t")
			defer func() {
				v := recover()
				if v == nil || !strings.Contains(v.(string), tt.want) {
					t.Fatalf("panic = %v, want one containing %q", v, tt.want)
				}
			}()
			for _, p := range tt.patterns {
				b.Command(p, nop)
			}
		})
	}
}

func nop(context.Context, *Request) error { return nil }

func TestMatch(t *testing.T) {
	b := New("t")
	patterns := []string{
		"deploy {app} {branch} [to {env}]",
		"deploy {app} main",
		"deploy status",
		"history [{app}] [{env}]",
		"echo {text...}",
		"run {a} {b}",
		"run {rest...}",
		"whois {user}",
		"open {url}",
	}
	for _, p := range patterns {
		b.Command(p, nop)
	}
	tests := []struct {
		text    string
		pattern string // "" for no match
		args    []string
	}{
		{"deploy api feature/x", "deploy {app} {branch} [to {env}]", []string{"api", "feature/x", ""}},
		{"DEPLOY api feature/x TO dev", "deploy {app} {branch} [to {env}]", []string{"api", "feature/x", "dev"}},
		{"deploy api main", "deploy {app} main", []string{"api"}},
		{"deploy status", "deploy status", nil},
		{"deploy api", "", nil},
		{"deploy api x y", "", nil},
		{"deploy api x to", "", nil},
		{"history", "history [{app}] [{env}]", []string{"", ""}},
		{"history api", "history [{app}] [{env}]", []string{"api", ""}},
		{"history api prd", "history [{app}] [{env}]", []string{"api", "prd"}},
		{"history api prd x", "", nil},
		{"echo hello   world", "echo {text...}", []string{"hello   world"}}, // rest keeps inner spacing
		{"echo hello world", "echo {text...}", []string{"hello world"}},
		{"echo", "", nil},
		{"run x y", "run {a} {b}", []string{"x", "y"}},
		{"run x y z", "run {rest...}", []string{"x y z"}},
		{"run x", "run {rest...}", []string{"x"}},
		{"whois <@U123|alice>", "whois {user}", []string{"U123"}},
		{"open <https://example.com/a?b=1&amp;c=2|example.com>", "open {url}", []string{"https://example.com/a?b=1&c=2"}},
		{"echo &lt;b&gt; &amp; <@U1>", "echo {text...}", []string{"<b> & U1"}},
		{"nosuch", "", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			cmd, args := b.Match(tt.text)
			got := ""
			if cmd != nil {
				got = cmd.Pattern()
			}
			if got != tt.pattern {
				t.Fatalf("Match(%q) = %q, want %q", tt.text, got, tt.pattern)
			}
			if diff := cmp.Diff(tt.args, args); cmd != nil && diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}
