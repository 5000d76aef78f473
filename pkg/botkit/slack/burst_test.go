package slack_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// burstUsers is how many people type the slash command at once.
const burstUsers = 500

// BenchmarkSlashModalBurst: 500 users type a slash command that opens a
// modal, all at once, against a fake Slack that enforces Slack's per-method
// rate limits (views.open is Tier 4: about 100 a minute, and each trigger
// lives 3 s). It reports, for botkit and for a minimal slack-go bot doing
// the same in the same run: the share of modals opened, the p99 from the
// command to views.open, and the share of users told why theirs did not
// open.
func BenchmarkSlashModalBurst(b *testing.B) {
	for b.Loop() {
		for _, bot := range []struct {
			name string
			run  func(ctx context.Context, srv *slacktest.Server)
		}{
			{"botkit", runBotkitFormBot},
			{"slack-go", runMinimalFormBot},
		} {
			opened, p99, told := formBurst(b, bot.run)
			b.ReportMetric(opened, bot.name+"_opened_%")
			b.ReportMetric(p99, bot.name+"_p99_ms")
			b.ReportMetric(told, bot.name+"_told_%")
		}
	}
}

// formBurst runs a bot against a rate-limited fake, sends the burst, and
// waits until every user has a modal or an answer, or 20 s pass.
func formBurst(b *testing.B, run func(ctx context.Context, srv *slacktest.Server)) (opened, p99, told float64) {
	srv := slacktest.New(b, slacktest.WithRateLimits())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go run(ctx, srv)
	srv.WaitConnected(b)
	sent := map[string]time.Time{} // by trigger ID
	users := make([]string, burstUsers)
	for i := range users {
		users[i] = fmt.Sprintf("U%05d", i)
		srv.Slash(users[i], "C0BURST", "/form", "")
	}
	settled := func() (int, int) {
		var open, answered int
		answers := map[string]bool{}
		for _, m := range srv.Messages() {
			if m.Method == "response_url" && m.EphemeralUser != "" {
				answers[m.EphemeralUser] = true
			}
		}
		for _, u := range users {
			if len(srv.Modals(u)) > 0 {
				open++
			} else if answers[u] {
				answered++
			}
		}
		return open, answered
	}
	deadline := time.Now().Add(20 * time.Second)
	var open, answered int
	for {
		open, answered = settled()
		if open+answered == burstUsers || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, e := range srv.Envelopes() { // written by now
		if e.TriggerID != "" && !e.SentAt.IsZero() {
			sent[e.TriggerID] = e.SentAt
		}
	}
	var lat []time.Duration
	for _, c := range srv.Calls("views.open") {
		if c.Status == 200 && c.Error == "" {
			if at, ok := sent[c.Params.Get("trigger_id")]; ok {
				lat = append(lat, c.At.Sub(at))
			}
		}
	}
	slices.Sort(lat)
	if len(lat) > 0 {
		p99 = float64(lat[len(lat)*99/100].Milliseconds())
	}
	return 100 * float64(open) / burstUsers, p99, 100 * float64(answered) / burstUsers
}

// runBotkitFormBot is a botkit bot whose slash command opens a modal.
func runBotkitFormBot(ctx context.Context, srv *slacktest.Server) {
	b := botkit.New("forms")
	b.Slash("/form")
	b.Command("form", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, burstModal())
		return err
	})
	b.Run(ctx, newTransport(srv, slacktest.AppToken, nil))
}

// runMinimalFormBot is the same bot written directly on slack-go's
// socketmode, as its README shows, with the same retries of 429s.
func runMinimalFormBot(ctx context.Context, srv *slacktest.Server) {
	api := slackapi.New(slacktest.BotToken, slackapi.OptionAPIURL(srv.APIURL()), slackapi.OptionAppLevelToken(slacktest.AppToken),
		slackapi.OptionRetry(5))
	sm := socketmode.New(api)
	go sm.RunContext(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-sm.Events:
			if evt.Type != socketmode.EventTypeSlashCommand {
				continue
			}
			sm.Ack(*evt.Request)
			cmd, _ := evt.Data.(slackapi.SlashCommand)
			go api.OpenViewContext(ctx, cmd.TriggerID, burstModal())
		}
	}
}

func burstModal() slackapi.ModalViewRequest {
	return slackapi.ModalViewRequest{Type: slackapi.VTModal, CallbackID: "burst",
		Title:  slackapi.NewTextBlockObject(slackapi.PlainTextType, "Form", false, false),
		Submit: slackapi.NewTextBlockObject(slackapi.PlainTextType, "Send", false, false),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{slackapi.NewInputBlock("name",
			slackapi.NewTextBlockObject(slackapi.PlainTextType, "Name", false, false), nil, slackapi.NewPlainTextInputBlockElement(nil, "name"))}}}
}
