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

// BenchmarkDispatchInteractions measures what a slash command and a click
// cost before their handlers run: find the slash command (with its
// environment's suffix), make its command text, match and bind; find a
// click's listener by action_id. Target: as a mention, at most 2 µs and 4
// allocations each.
func BenchmarkDispatchInteractions(b *testing.B) {
	bot := New("bench")
	for i := range 48 {
		bot.Command(fmt.Sprintf("cmd%02d {a} {b} [to {env}]", i), nop)
		bot.Action(fmt.Sprintf("action_%02d", i), nop)
	}
	bot.Command("deploy {app:name} {branch:plain} [to {env:name}]", nop)
	bot.Slash("/deploy")
	rt := NewRuntime(bot, WithEnvironment("dev"))
	b.Run("slash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := rt.slash("/deploy-dev")
			text := stripMention(normalize(c.Name()[1:] + " " + "api feature/login-page to dev"))
			if cmd, args := bot.match(text); cmd != nil {
				cmd.pat.bind(args)
			}
		}
	})
	b.Run("action", func(b *testing.B) {
		b.ReportAllocs()
		ev := Event{Kind: KindAction, Action: &Action{ActionID: "action_37", Value: "v"}}
		for b.Loop() {
			if _, ok := bot.listeners[listenerKey{ev.Kind, listenerID(&ev)}]; !ok {
				b.Fatal("no listener")
			}
		}
	})
}
