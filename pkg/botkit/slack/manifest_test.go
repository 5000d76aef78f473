package slack

import (
	"strings"
	"testing"
)

func TestAppName(t *testing.T) {
	tests := []struct{ bot, env, want string }{
		{"hello", "dev", "hello (dev)"},
		{"hello", "", "hello"},
		{strings.Repeat("a", 29), "prd", strings.Repeat("a", 29) + " (prd)"},
		{strings.Repeat("a", 40), "prd", strings.Repeat("a", 29) + " (prd)"},
		{strings.Repeat("a", 28) + "-bbb", "dev", strings.Repeat("a", 28) + " (dev)"},
	}
	for _, tt := range tests {
		got := AppName(tt.bot, tt.env)
		if got != tt.want || len(got) > maxAppName {
			t.Errorf("AppName(%q, %q) = %q, want %q (at most %d)", tt.bot, tt.env, got, tt.want, maxAppName)
		}
	}
}
