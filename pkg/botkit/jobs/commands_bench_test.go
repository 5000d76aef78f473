package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// BenchmarkCommands100k: `history`, `history 100` and `status` answered end
// to end (the mention recorded in the inbox, the command run, its reply
// posted) on a state directory holding 100,000 jobs and 1,000 commands
// awaiting approval, the most botkit keeps. `status` reads the records of
// the 20 it shows and counts the others from the directory (two stats
// each) at each call: nothing is cached across processes.
func BenchmarkCommands100k(b *testing.B) {
	const pending = 1000 // maxPending in botkit
	dir := b.TempDir()
	tr := botkittest.New(b, botkittest.WithRunOptions(botkit.WithStateDir(dir), botkit.WithLogger(slog.New(slog.DiscardHandler))))
	m, err := New(tr.Bot(), Options{Dir: filepath.Join(dir, "jobs")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	tr.Bot().Command("deploy {app:name} to {env:name}", func(context.Context, *botkit.Request) error { return nil })
	tr.SetGroup("S0LEADS", "U0LEAD")
	err = tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{
		Command: "deploy", Args: map[string]string{"env": "prd"},
		Approve: &botkit.Approval{Groups: []string{"S0LEADS"}, Count: 1, Timeout: time.Hour},
	}}}})
	if err != nil {
		b.Fatal(err)
	}
	writeHistory(b, m.st, 100_000)
	seq := 0
	send := func(user, text string) []botkittest.Reply {
		seq++
		return tr.Send(b, botkit.Event{ID: fmt.Sprintf("EvB%d", seq), User: user, Channel: botkittest.Channel,
			TS: fmt.Sprintf("1800000000.%06d", seq), Text: "<@UBOT> " + text})
	}
	for i := range pending { // 5 each, a user's most
		send(fmt.Sprintf("U%03d", i/5), fmt.Sprintf("deploy app%d to prd", i))
	}
	for _, c := range []struct{ text, want string }{
		{"history", "• #99991 "}, {"history 100", "• #99901 "}, {"status", fmt.Sprintf("…and %d more.", pending-maxWaitingShown)},
	} {
		b.Run(strings.ReplaceAll(c.text, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				if got := botkittest.Last(send("U0LEAD", c.text)); !strings.Contains(got, c.want) {
					b.Fatalf("%s answered %.200q, want it to hold %q", c.text, got, c.want)
				}
			}
		})
	}
}
