package slacktest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// The fake serves slack-go's Web API calls and records them.
func Example() {
	srv := slacktest.New(nil) // in a test: slacktest.New(t), closed when the test ends
	defer srv.Close()

	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	_, ts, err := api.PostMessage("C1", slack.MsgOptionText("deploying…", false))
	if err != nil {
		fmt.Println(err)
		return
	}
	_, _, _, _ = api.UpdateMessage("C1", ts, slack.MsgOptionText("deployed", false))
	for _, m := range srv.Messages() {
		fmt.Println(m.Method, m.Channel, m.TS, m.Text)
	}
	// Output:
	// chat.postMessage C1 1700000000.000100 deploying…
	// chat.update C1 1700000000.000100 deployed
}

// A Socket Mode client connects through apps.connections.open; the fake
// sends it a mention and records the ack. A bot's end-to-end test does the
// same with the bot in place of this loop.
func ExampleServer_Mention() {
	srv := slacktest.New(nil)
	defer srv.Close()

	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(slacktest.AppToken))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sm.RunContext(ctx) }()

	_, envelopeID := srv.Mention("U1", "C1", "ping") // queued until the socket is up
	for ev := range sm.Events {
		if ev.Type == socketmode.EventTypeEventsAPI {
			_ = sm.Ack(*ev.Request)
			break
		}
	}
	for len(srv.Acks()) == 0 { // in a test: srv.WaitAck(t, envelopeID)
		time.Sleep(time.Millisecond)
	}
	fmt.Println(srv.Acks()[0].EnvelopeID == envelopeID)
	// Output: true
}

// A modal's round trip over Socket Mode: a slash command's trigger_id opens
// a modal, the user submits it, and the bot answers in the ack with an
// error beside the input, which the fake shows on the modal, as Slack
// would.
func ExampleServer_Submit() {
	srv := slacktest.New(nil)
	defer srv.Close()

	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()), slack.OptionAppLevelToken(slacktest.AppToken))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = sm.RunContext(ctx) }()

	srv.Slash("U1", "C1", "/deploy", "")
	for ev := range sm.Events {
		switch ev.Type {
		case socketmode.EventTypeSlashCommand: // the bot opens a form
			_ = sm.Ack(*ev.Request)
			reason := slack.NewInputBlock("why", slack.NewTextBlockObject(slack.PlainTextType, "Reason", false, false), nil,
				slack.NewPlainTextInputBlockElement(nil, "reason"))
			v, err := api.OpenView(ev.Data.(slack.SlashCommand).TriggerID, slack.ModalViewRequest{Type: slack.VTModal,
				Title:  slack.NewTextBlockObject(slack.PlainTextType, "Deploy", false, false),
				Submit: slack.NewTextBlockObject(slack.PlainTextType, "Deploy", false, false),
				Blocks: slack.Blocks{BlockSet: []slack.Block{reason}}})
			if err != nil {
				fmt.Println(err)
				return
			}
			srv.Submit("U1", v.ID, slacktest.Values{"reason": {"x"}}) // the user submits it
		case socketmode.EventTypeInteractive: // the bot refuses the value
			_ = sm.Ack(*ev.Request, slack.NewErrorsViewSubmissionResponse(map[string]string{"why": "say more"}))
			for len(srv.Acks()) < 2 { // in a test: srv.WaitAck(t, ev.Request.EnvelopeID)
				time.Sleep(time.Millisecond)
			}
			top := srv.Modals("U1")[0]
			fmt.Println(top.Title, top.Errors["why"])
			return
		}
	}
	// Output: Deploy say more
}

// With WithRateLimits, chat.postMessage takes a burst of three messages in
// a channel, then one a second, as Slack's "1 per second per channel".
func ExampleWithRateLimits() {
	srv := slacktest.New(nil, slacktest.WithRateLimits())
	defer srv.Close()

	api := slack.New(slacktest.BotToken, slack.OptionAPIURL(srv.APIURL()))
	for i := range 4 {
		_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
		fmt.Println(i+1, err)
	}
	fmt.Println(srv.RateLimited("chat.postMessage"))
	// Output:
	// 1 <nil>
	// 2 <nil>
	// 3 <nil>
	// 4 slack rate limit exceeded, retry after 1s
	// 1
}
