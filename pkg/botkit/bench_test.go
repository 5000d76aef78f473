package botkit

import (
	"fmt"
	"testing"
)

// BenchmarkDispatch measures what every message costs before its handler
// runs: strip the mention, normalize, match among 50 patterns, bind args
// (typed ones made canonical).
// Target: at most 2 µs and 4 allocations per message.
func BenchmarkDispatch(b *testing.B) {
	bot := New("bench")
	for i := range 48 {
		bot.Command(fmt.Sprintf("cmd%02d {a} {b} [to {env}]", i), nop)
	}
	bot.Command("deploy {app:name} {branch:plain} [to {env:name}]", nop)
	bot.Command("echo {text...}", nop)
	msgs := []string{
		"<@U0BOT> deploy api feature/login-page to dev",
		"<@U0BOT> cmd37 x y",
		"<@U0BOT>\u00a0echo hello <@U123> and <https://example.com|example>",
		"<@U0BOT> nothing matches this",
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		text := stripMention(normalize(msgs[i%len(msgs)]))
		if cmd, args := bot.match(text); cmd != nil {
			cmd.pat.bind(args)
		}
	}
}
