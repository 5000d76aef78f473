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
