package codeowners

import (
	"strings"
	"testing"
)

func TestOwners(t *testing.T) {
	f, err := Parse([]byte(`# owners
*                 @org/everyone
*.md              docs@example.com   # inline comment
/manifests/       @org/platform
apps/             @octocat
docs/*            @docs
/build/logs/**    @logs
**/secrets        @sec
/botfleet.yaml    @org/platform
/manifests/addons/
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string // owners joined; "" for none
	}{
		{"main.go", "@org/everyone"},
		{"pkg/README.md", "docs@example.com"},
		{"manifests/argocd/root.yaml", "@org/platform"},
		{"manifests/README.md", "@org/platform"},                 // a later rule wins over *.md
		{"manifests/addons/monitoring/dev.yaml", ""},             // un-owned by the last matching rule
		{"x/manifests/a.yaml", "@org/everyone"},                  // /manifests/ is anchored
		{"apps/a.go", "@octocat"}, {"src/apps/a.go", "@octocat"}, // apps/ at any depth
		{"apps", "@org/everyone"}, // the directory pattern takes its contents only
		{"docs/getting-started.go", "@docs"},
		{"docs/build-app/troubleshooting.go", "@org/everyone"}, // * stays in docs/
		{"build/logs/a/b.log", "@logs"},
		{"a/b/secrets", "@sec"}, {"secrets/key", "@sec"},
		{"botfleet.yaml", "@org/platform"},
		{"bots/botfleet.yaml", "@org/everyone"},
	}
	for _, tt := range tests {
		owners, _ := f.Owners(tt.path)
		if got := strings.Join(owners, " "); got != tt.want {
			t.Errorf("Owners(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
	if o, r := (&File{}).Owners("x"); o != nil || r != nil {
		t.Error("an empty file owns something")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"!manifests/ @a\n", `line 1: pattern "!manifests/": GitHub supports no negation`},
		{"# x\n[ab].go @a\n", `line 2: pattern "[ab].go"`},
		{"* org/team\n", `line 1: owner "org/team": want @user, @org/team or an email address`},
		{"* @a/b/c\n", `owner "@a/b/c"`},
	}
	for _, tt := range tests {
		if _, err := Parse([]byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): %v, want %q", tt.in, err, tt.want)
		}
	}
}
