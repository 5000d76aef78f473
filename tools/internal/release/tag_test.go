package release

import (
	"strings"
	"testing"
)

func TestParseTag(t *testing.T) {
	sha := strings.Repeat("0123456789abcdef", 3)[:40]
	tests := []struct {
		in   string
		want Tag
		ok   bool
	}{
		{sha, Tag{Commit: sha}, true},
		{sha + "-rebuild-17", Tag{Commit: sha, Rebuild: 17}, true},
		{"0000000", Tag{}, false},                            // a new bot's placeholder
		{sha[:12], Tag{}, false},                             // short
		{strings.ToUpper(sha), Tag{}, false},                 // git writes lowercase
		{sha + "-rebuild-0", Tag{}, false},                   // run ids start at 1
		{sha + "-rebuild-", Tag{}, false},                    // no run
		{sha + "-rebuild-1234567890123456789", Tag{}, false}, // over int64
		{"prd-" + sha, Tag{}, false},                         // the promotion marker, not a release
	}
	for _, tt := range tests {
		got, ok := ParseTag(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseTag(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok && got.String() != tt.in {
			t.Errorf("ParseTag(%q).String() = %q", tt.in, got.String())
		}
	}
}
