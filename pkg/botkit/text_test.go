package botkit

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"ping", "ping"},
		{"  ping  ", "ping"},
		{"deploy\u00a0api\tmain\n", "deploy api main"},
		{"deploy\u202f\u2003api", "deploy api"},
		{"a\u200bb", "a b"},
		{"de\x00ploy\x07 api", "de\ufffdploy\ufffd api"},
		{"\u00a0\u00a0", ""},
		{"héllo wörld", "héllo wörld"},
		{"bad\xffutf8", "bad\ufffdutf8"},
	}
	for _, tt := range tests {
		if got := normalize(tt.in); got != tt.want {
			t.Errorf("normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := normalize(tt.want); got != tt.want {
			t.Errorf("normalize is not idempotent on %q: %q", tt.want, got)
		}
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct{ in, want string }{
		{"<@UBOT> ping", "ping"},
		{"<@UBOT|hello>: ping", "ping"},
		{"<@UBOT>, ping", "ping"},
		{"<@UBOT>", ""},
		{"ping <@UBOT>", "ping <@UBOT>"},
		{"<@UBOT ping", "<@UBOT ping"},
		{"<#C1> ping", "<#C1> ping"},
	}
	for _, tt := range tests {
		if got := stripMention(tt.in); got != tt.want {
			t.Errorf("stripMention(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"a b c", []string{"a", "b", "c"}},
		{"open <https://x|a label> now", []string{"open", "<https://x|a label>", "now"}},
		{"a <b c", []string{"a", "<b", "c"}},
		{"x<@U1|a b>y z", []string{"x<@U1|a b>y", "z"}},
		{strings.Repeat("w ", 100), nil}, // checked below
	}
	for _, tt := range tests[:4] {
		toks := tokenize(tt.in, nil)
		var got []string
		for _, s := range toks {
			got = append(got, tt.in[s.start:s.end])
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("tokenize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	long := strings.TrimSpace(strings.Repeat("w ", 100))
	toks := tokenize(long, nil)
	if len(toks) != maxTokens || toks[len(toks)-1].end != len(long) {
		t.Errorf("tokenize of 100 words: %d tokens ending at %d, want %d ending at %d", len(toks), toks[len(toks)-1].end, maxTokens, len(long))
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"<@U123>", "U123"},
		{"<@U123|alice>", "U123"},
		{"<#C123|general>", "C123"},
		{"<!subteam^S123|@sre>", "S123"},
		{"<!here>", "@here"},
		{"<!date^1392734382^{date}|Feb 18>", "Feb 18"},
		{"<https://x.io/a?b=1&amp;c=2|x.io>", "https://x.io/a?b=1&c=2"},
		{"<mailto:a@b.io|a@b.io>", "mailto:a@b.io"},
		{"a &lt;b&gt; &amp;&amp; c &x", "a <b> && c &x"},
		{"<unbalanced", "<unbalanced"},
		{"x<@U1>y", "xU1y"},
	}
	for _, tt := range tests {
		if got := decode(tt.in); got != tt.want {
			t.Errorf("decode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got, want := Escape("<@U1> & <!channel>"), "&lt;@U1&gt; &amp; &lt;!channel&gt;"; got != want {
		t.Errorf("Escape = %q, want %q", got, want)
	}
	if got := decode(Escape("a <b> & c")); got != "a <b> & c" {
		t.Errorf("decode(Escape(x)) = %q, want x back", got)
	}
}

func TestFit(t *testing.T) {
	short := "héllo"
	if fit(short) != short {
		t.Errorf("fit changed a short text")
	}
	long := strings.Repeat("é", MaxMessageText+10)
	got := fit(long)
	if n := len([]rune(got)); n != MaxMessageText {
		t.Errorf("fit(long) has %d runes, want %d", n, MaxMessageText)
	}
	if !strings.HasSuffix(got, cutNote) {
		t.Errorf("fit(long) does not say it was cut")
	}
}

func TestLevenshtein(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"deploy", "deploy", 0}, {"deploi", "deploy", 1}, {"dpeloy", "deploy", 1},
		{"", "abc", 3}, {"kitten", "sitting", 3},
	}
	for _, tt := range tests {
		if got := levenshtein(tt.a, tt.b); got != tt.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
