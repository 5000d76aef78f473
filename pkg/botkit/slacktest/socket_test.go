package slacktest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// mention returns the app_mention and event id an events_api event carries.
func mention(t *testing.T, ev socketmode.Event) (*slackevents.AppMentionEvent, string) {
	t.Helper()
	outer, ok := ev.Data.(slackevents.EventsAPIEvent)
	if !ok {
		t.Fatalf("events_api data is %T", ev.Data)
	}
	cb, ok := outer.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		t.Fatalf("outer event data is %T", outer.Data)
	}
	m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent)
	if !ok {
		t.Fatalf("inner event is %T", outer.InnerEvent.Data)
	}
	return m, cb.EventID
}

func TestSocketHelloEventAndAck(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	hello := c.next(t, socketmode.EventTypeHello).Request
	if hello.NumConnections != 1 || hello.DebugInfo.ApproximateConnectionTime == 0 || hello.ConnectionInfo.AppID != slacktest.AppID {
		t.Errorf("hello = %+v", hello)
	}

	eventID, envID := srv.Mention("U1", "C1", "ping")
	ev := c.next(t, socketmode.EventTypeEventsAPI)
	m, gotEventID := mention(t, ev)
	sent := srv.Events()[0]
	if m.User != "U1" || m.Channel != "C1" || m.Text != "<@UBOT> ping" || m.TimeStamp != sent.TS || m.ThreadTimeStamp != "" || m.BotID != "" {
		t.Errorf("app_mention = %+v", m)
	}
	if len(m.Blocks.BlockSet) != 1 || m.Blocks.BlockSet[0].BlockType() != slack.MBTRichText {
		t.Errorf("blocks = %+v, want one rich_text", m.Blocks.BlockSet)
	}
	if gotEventID != eventID || ev.Request.EnvelopeID != envID || ev.Request.RetryAttempt != 0 || ev.Request.AcceptsResponsePayload {
		t.Errorf("event %s in envelope %+v, want event %s in envelope %s", gotEventID, ev.Request, eventID, envID)
	}
	ack := srv.WaitAck(t, envID)
	if !ack.Known || ack.Latency <= 0 || ack.Latency > 3*time.Second || ack.Socket != 1 {
		t.Errorf("ack = %+v", ack)
	}
	if envs := srv.Envelopes(); len(envs) != 1 || !envs[0].Acked || envs[0].EventID != eventID || envs[0].Type != "events_api" {
		t.Errorf("envelopes = %+v", envs)
	}
}

func TestSocketRetryKeepsEventID(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	eventID, env1 := srv.Mention("U1", "C1", "deploy api main")
	first := c.next(t, socketmode.EventTypeEventsAPI)
	env2 := srv.Retry(eventID)
	retry := c.next(t, socketmode.EventTypeEventsAPI)
	_, id1 := mention(t, first)
	m2, id2 := mention(t, retry)
	if id1 != eventID || id2 != eventID {
		t.Errorf("event ids %s, %s; want both %s", id1, id2, eventID)
	}
	if env1 == env2 || retry.Request.EnvelopeID != env2 {
		t.Errorf("retry envelope %s (sent %s), first %s: want a new one", retry.Request.EnvelopeID, env2, env1)
	}
	if retry.Request.RetryAttempt != 1 || retry.Request.RetryReason != "timeout" || m2.Text != "<@UBOT> deploy api main" {
		t.Errorf("retry request = %+v, text %q", retry.Request, m2.Text)
	}
	srv.WaitAck(t, env1)
	srv.WaitAck(t, env2)
}

func TestSocketDMAndBotMention(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	srv.DM("U1", "D1", "help")
	outer := c.next(t, socketmode.EventTypeEventsAPI).Data.(slackevents.EventsAPIEvent)
	dm, ok := outer.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || dm.ChannelType != "im" || dm.Channel != "D1" || dm.Text != "help" || dm.User != "U1" || dm.BotID != "" {
		t.Errorf("DM = %#v", outer.InnerEvent.Data)
	}
	srv.BotMention("B2", "C1", "ping")
	m, _ := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
	if m.BotID != "B2" || m.User != "U2" {
		t.Errorf("bot mention = %+v", m)
	}
}

func TestSocketClickAndSlash(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	button := slack.NewButtonBlockElement("confirm", "yes", slack.NewTextBlockObject(slack.PlainTextType, "Deploy", false, false))
	_, ts, err := api(srv).PostMessageContext(t.Context(), "C1", slack.MsgOptionText("deploy to prd?", false),
		slack.MsgOptionTS("1699999999.000001"), slack.MsgOptionBlocks(slack.NewActionBlock("ask", button)))
	if err != nil {
		t.Fatal(err)
	}

	env := srv.Click(slacktest.Action{User: "U1", Channel: "C1", MessageTS: ts, ActionID: "confirm", Value: "yes"})
	ev := c.next(t, socketmode.EventTypeInteractive)
	cb := ev.Data.(slack.InteractionCallback)
	if len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("actions = %+v", cb.ActionCallback)
	}
	a := cb.ActionCallback.BlockActions[0]
	if cb.Type != slack.InteractionTypeBlockActions || a.ActionID != "confirm" || a.Value != "yes" || a.BlockID != "ask" || a.Text.Text != "Deploy" {
		t.Errorf("callback %s, action %+v", cb.Type, a)
	}
	if cb.User.ID != "U1" || cb.Channel.ID != "C1" || cb.Container.MessageTs != ts || cb.Container.ThreadTs != "1699999999.000001" ||
		cb.Message.Text != "deploy to prd?" || cb.Message.BotID != slacktest.BotID || cb.ResponseURL == "" {
		t.Errorf("callback = %+v", cb)
	}
	srv.WaitAck(t, env)

	// The bot answers on the response_url, replacing the question.
	if _, _, err := api(srv).PostMessageContext(t.Context(), "", slack.MsgOptionReplaceOriginal(cb.ResponseURL),
		slack.MsgOptionText("deploying", false)); err != nil {
		t.Fatal(err)
	}
	last := srv.Messages()[len(srv.Messages())-1]
	want := slacktest.Message{Method: "response_url", Channel: "C1", TS: ts, ThreadTS: "1699999999.000001", Text: "deploying", ReplaceOriginal: true}
	if last != want {
		t.Errorf("response_url message = %+v, want %+v", last, want)
	}

	env = srv.Slash("U1", "C1", "/deploy", "api main")
	ev = c.next(t, socketmode.EventTypeSlashCommand)
	cmd := ev.Data.(slack.SlashCommand)
	if cmd.Command != "/deploy" || cmd.Text != "api main" || cmd.UserID != "U1" || cmd.ChannelID != "C1" || !ev.Request.AcceptsResponsePayload {
		t.Errorf("slash command = %+v, request %+v", cmd, ev.Request)
	}
	srv.WaitAck(t, env)
}

func TestSocketQueuesUntilConnected(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	_, env := srv.Mention("U1", "C1", "early")
	if e := srv.Envelopes()[0]; e.Socket != 0 || !e.SentAt.IsZero() {
		t.Errorf("envelope sent with no socket open: %+v", e)
	}
	c := connect(t, srv)
	c.next(t, socketmode.EventTypeHello)
	m, _ := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
	if m.Text != "<@UBOT> early" {
		t.Errorf("text = %q", m.Text)
	}
	srv.WaitAck(t, env)
}

func TestSocketRefreshRequested(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	srv.WaitConnected(t)
	c.next(t, socketmode.EventTypeHello)

	srv.Disconnect()
	srv.WaitConnected(t)
	if ev := c.next(t, socketmode.EventTypeConnected); ev.Data.(*socketmode.ConnectedEvent).ConnectionCount != 1 {
		t.Errorf("connected = %+v, want the second connection", ev.Data)
	}
	c.next(t, socketmode.EventTypeHello)
	_, env := srv.Mention("U1", "C1", "after refresh")
	m, _ := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
	if m.Text != "<@UBOT> after refresh" {
		t.Errorf("text = %q", m.Text)
	}
	if ack := srv.WaitAck(t, env); ack.Socket != 2 {
		t.Errorf("acked on socket %d, want 2", ack.Socket)
	}
	if n := len(srv.Calls("apps.connections.open")); n != 2 {
		t.Errorf("apps.connections.open called %d times, want 2", n)
	}
	srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == 1 })
}

func TestSocketDropped(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	c.next(t, socketmode.EventTypeHello)

	srv.Drop()                                      // slack-go may be back before the next line runs, so no check of OpenSockets here
	_, env := srv.Mention("U1", "C1", "while away") // queued, or sent to the new socket
	srv.WaitConnected(t)
	m, _ := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
	if m.Text != "<@UBOT> while away" {
		t.Errorf("text = %q", m.Text)
	}
	if ack := srv.WaitAck(t, env); ack.Socket != 2 {
		t.Errorf("acked on socket %d, want 2", ack.Socket)
	}
	if n := srv.Sockets(); n != 2 {
		t.Errorf("%d sockets accepted, want 2", n)
	}
}

func TestSocketMissingPings(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithPingInterval(50*time.Millisecond))
	c := connect(t, srv, socketmode.OptionPingInterval(300*time.Millisecond))
	c.next(t, socketmode.EventTypeHello)
	time.Sleep(400 * time.Millisecond) // pings keep the first socket alive past the client's interval
	if n := srv.Sockets(); n != 1 {
		t.Fatalf("%d sockets while pinging, want 1", n)
	}

	srv.StopPings()
	srv.WaitConnected(t)
	_, env := srv.Mention("U1", "C1", "after silence")
	if ack := srv.WaitAck(t, env); ack.Socket != 2 {
		t.Errorf("acked on socket %d, want 2", ack.Socket)
	}
	srv.WaitFor(t, 0, func() bool { return srv.OpenSockets() == 1 }) // the client closed the silent one
}

func TestSocketMalformedFrames(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	c.next(t, socketmode.EventTypeHello)

	// Not JSON: slack-go reports an incoming error and keeps the socket.
	srv.SendRaw("", []byte("{not json"))
	if ev := c.next(t, socketmode.EventTypeIncomingError); ev.Request != nil {
		t.Errorf("incoming error with a request: %+v", ev.Request)
	}
	// JSON it cannot parse: an error_bad_message without a Request, which
	// can be acked only from the raw frame.
	srv.SendRaw("env-bad", []byte(`{"type":"events_api","envelope_id":"env-bad","payload":{"type":"event_callback","event":"x"}}`))
	ev := c.next(t, socketmode.EventTypeErrorBadMessage)
	bad := ev.Data.(*socketmode.ErrorBadMessage)
	var raw struct {
		EnvelopeID string `json:"envelope_id"`
	}
	if err := json.Unmarshal(bad.Message, &raw); err != nil || ev.Request != nil || raw.EnvelopeID != "env-bad" {
		t.Fatalf("bad message %s (request %v): %v", bad.Message, ev.Request, err)
	}
	if err := c.sm.AckCtx(t.Context(), raw.EnvelopeID, nil); err != nil {
		t.Fatal(err)
	}
	if ack := srv.WaitAck(t, "env-bad"); !ack.Known || ack.Latency <= 0 {
		t.Errorf("ack = %+v", ack)
	}
	// An empty frame is skipped silently.
	srv.SendRaw("", nil)

	_, env := srv.Mention("U1", "C1", "still here")
	m, _ := mention(t, c.next(t, socketmode.EventTypeEventsAPI))
	if m.Text != "<@UBOT> still here" {
		t.Errorf("text = %q", m.Text)
	}
	srv.WaitAck(t, env)
	if n := srv.Sockets(); n != 1 {
		t.Errorf("%d sockets: bad frames made the client reconnect", n)
	}
}

func TestSocketClientStops(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	c := connect(t, srv)
	srv.WaitConnected(t)
	c.stop()
	srv.WaitDisconnected(t)
	if _, env := srv.Mention("U1", "C1", "nobody home"); srv.Envelopes()[0].SentAt != (time.Time{}) {
		t.Errorf("envelope %s written with no socket open", env)
	}
}

func TestSocketAutoRetry(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithAutoRetry(100*time.Millisecond))
	// The client drops the first delivery of each event, as a bot that
	// crashed before acking would.
	c := connectAcking(t, srv, func(ev socketmode.Event) bool { return ev.Request.RetryAttempt > 0 })
	eventID, first := srv.Mention("U1", "C1", "deploy")
	c.next(t, socketmode.EventTypeEventsAPI)
	retry := c.next(t, socketmode.EventTypeEventsAPI)
	if _, id := mention(t, retry); id != eventID || retry.Request.RetryAttempt != 1 || retry.Request.RetryReason != "timeout" || retry.Request.EnvelopeID == first {
		t.Errorf("retry of %s = event %s in %+v", eventID, id, retry.Request)
	}
	srv.WaitAck(t, retry.Request.EnvelopeID)
	time.Sleep(250 * time.Millisecond) // past another ack timeout: the acked retry is not retried
	envs := srv.Envelopes()
	if len(envs) != 2 || envs[0].Acked || !envs[1].Acked {
		t.Errorf("envelopes = %+v, want the unacked first and the acked retry", envs)
	}
}

func TestSocketAutoRetryGivesUp(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithAutoRetry(50*time.Millisecond))
	connectAcking(t, srv, func(socketmode.Event) bool { return false })
	eventID, _ := srv.Mention("U1", "C1", "deploy")
	srv.WaitFor(t, 0, func() bool { return len(srv.Envelopes()) == 1+slacktest.MaxRetries })
	time.Sleep(150 * time.Millisecond)
	envs := srv.Envelopes()
	if len(envs) != 1+slacktest.MaxRetries {
		t.Fatalf("%d envelopes, want the first and %d retries", len(envs), slacktest.MaxRetries)
	}
	for i, e := range envs {
		if e.EventID != eventID || e.RetryAttempt != i {
			t.Errorf("envelope %d = %+v", i, e)
		}
	}
}
