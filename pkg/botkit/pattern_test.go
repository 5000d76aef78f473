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
			cmd, args := b.match(tt.text)
			got := ""
			if cmd != nil {
				got = cmd.Pattern()
			}
			if got != tt.pattern {
				t.Fatalf("Match(%q) = %q, want %q", tt.text, got, tt.pattern)
			}
			if cmd == nil {
				return
			}
			if err := cmd.pat.bind(args); err != nil {
				t.Fatalf("bind: %v", err)
			}
			if diff := cmp.Diff(tt.args, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

// Typed arguments bind to one canonical value, or to an error that names
// the argument and what is wrong with the word.
func TestTypedArgs(t *testing.T) {
	b := New("t")
	for _, p := range []string{
		"deploy {app:name} {branch:plain} [to {env:name}]",
		"launch [in {secs:1..60}]",
		"count {n:int}",
		"wait {d:duration}",
		"page {who:user} in {where:channel}",
		"promote {env:dev|prd}",
	} {
		b.Command(p, nop)
	}
	tests := []struct {
		text string
		args []string
		err  string
	}{
		{"deploy API main to PRD", []string{"api", "main", "prd"}, ""},
		{"deploy `api` `Feature/X`", []string{"api", "Feature/X", ""}, ""},
		{"deploy web main to lİve", nil, `env "lİve" is not a name`},
		{"deploy apİ main", nil, `app "apİ" is not a name`},
		{"deploy web <#C0EVIL|main>", nil, "branch \"<#C0EVIL|main>\" is a link to a Slack channel"},
		{"deploy web <@U0EVIL>", nil, "is a Slack mention"},
		{"deploy web <https://x|x>", nil, "is a link, not text"},
		{"deploy web ma\ufffdin", nil, "contains a control or invalid character"},
		{"deploy web fix&amp;go", []string{"web", "fix&go", ""}, ""},
		{"deploy -web main", nil, "is not a name"},
		{"deploy " + strings.Repeat("a", 64) + " main", nil, "is not a name of 1 to 63 characters"},
		{"launch in 10", []string{"10"}, ""},
		{"launch in 010", []string{"10"}, ""},
		{"launch in 61", nil, `secs "61" is not from 1 to 60`},
		{"launch in +5", nil, "is not a whole number"},
		{"launch in ５", nil, "is not a whole number"},
		{"count -3", []string{"-3"}, ""},
		{"wait 90s", []string{"1m30s"}, ""},
		{"wait 0s", nil, "is not a duration"},
		{"page <@U123|alice> in <#C0GENERAL|general>", []string{"U123", "C0GENERAL"}, ""},
		{"page U123 in C0GENERAL", []string{"U123", "C0GENERAL"}, ""},
		{"page alice in C0GENERAL", nil, "is not a user"},
		{"page U123 in general", nil, "is not a channel"},
		{"promote PRD", []string{"prd"}, ""},
		{"promote prİ", nil, "is not one of dev, prd"},
		{"promote stg", nil, "is not one of dev, prd"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			cmd, args := b.match(normalize(tt.text))
			if cmd == nil {
				t.Fatalf("%q matched nothing", tt.text)
			}
			err := cmd.pat.bind(args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("bind(%q) = %v, want an error with %q", tt.text, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("bind(%q): %v", tt.text, err)
			}
			if diff := cmp.Diff(tt.args, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBadArgTypes(t *testing.T) {
	for _, tt := range []struct{ pat, want string }{
		{"a {x:nosuch}", "unknown argument type"},
		{"a {x:}", "empty type"},
		{"a {x:5..1}", "bad range"},
		{"a {x:1..y}", "bad range"},
		{"a {x:dev|Prd}", "bad choice"},
		{"a {x:dev|dev}", "listed twice"},
		{"a {x:dev|}", "bad choice"},
	} {
		_, err := parsePattern(tt.pat)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parsePattern(%q) = %v, want %q", tt.pat, err, tt.want)
		}
	}
}
