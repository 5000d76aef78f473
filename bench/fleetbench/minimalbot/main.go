// Command minimalbot is the baseline fleetbench measures botkit against: a
// Slack bot written directly on slack-go's socketmode, with nothing botkit
// adds (no dedupe, access checks, audit log, metrics or health server). It
// connects with SLACK_APP_TOKEN, acks every envelope the moment it arrives,
// and answers "pong" in the thread to each mention whose text ends in
// "ping", with chat.postMessage.
//
// It hands replies to as many workers as botkit runs commands at once
// (botkit.DefaultMaxInFlight, 16), behind a queue deep enough for a whole
// burst, so the comparison measures botkit's overhead and not a different
// concurrency: posting inline would delay every later ack behind a Web API
// call, and a goroutine per event would trade memory for speed.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

const (
	workers    = 16   // botkit.DefaultMaxInFlight
	queueDepth = 4096 // above fleetbench's burst, so the event loop never blocks
	// httpTimeout is what slack.New lacks by default.
	httpTimeout = 30 * time.Second
)

func main() {
	if err := profiled(run); err != nil {
		fmt.Fprintf(os.Stderr, "minimalbot: %v\n", err)
		os.Exit(1)
	}
}

// profiled runs f, with a CPU profile of it written to
// FLEETBENCH_CPUPROFILE if that is set, as profbot does for botkit.
func profiled(f func() error) error {
	if path := os.Getenv("FLEETBENCH_CPUPROFILE"); path != "" {
		out, err := os.Create(path)
		if err != nil {
			return fmt.Errorf("creating the CPU profile: %w", err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return fmt.Errorf("starting the CPU profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	return f()
}

func run() error {
	botToken, appToken := os.Getenv("SLACK_BOT_TOKEN"), os.Getenv("SLACK_APP_TOKEN")
	if botToken == "" || appToken == "" {
		return fmt.Errorf("SLACK_BOT_TOKEN and SLACK_APP_TOKEN must both be set")
	}
	opts := []slack.Option{slack.OptionAppLevelToken(appToken), slack.OptionHTTPClient(&http.Client{Timeout: httpTimeout})}
	if u := os.Getenv("SLACK_API_URL"); u != "" {
		opts = append(opts, slack.OptionAPIURL(u))
	}
	api := slack.New(botToken, opts...)
	sm := socketmode.New(api)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	type reply struct{ channel, ts string }
	replies := make(chan reply, queueDepth)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for r := range replies {
				// A failed post is only logged, as botkit does: chat.postMessage
				// has no idempotency key to retry safely with.
				if _, _, err := api.PostMessageContext(context.WithoutCancel(ctx), r.channel,
					slack.MsgOptionText("pong", false), slack.MsgOptionTS(r.ts)); err != nil {
					fmt.Fprintf(os.Stderr, "minimalbot: posting reply: %v\n", err)
				}
			}
		})
	}

	errc := make(chan error, 1)
	go func() { errc <- sm.RunContext(ctx) }()
	var err error
loop:
	for {
		select {
		case err = <-errc:
			break loop
		case evt := <-sm.Events:
			if evt.Request != nil && evt.Request.EnvelopeID != "" {
				if aerr := sm.AckCtx(ctx, evt.Request.EnvelopeID, nil); aerr != nil {
					fmt.Fprintf(os.Stderr, "minimalbot: acking %s: %v\n", evt.Request.EnvelopeID, aerr)
				}
			}
			if evt.Type != socketmode.EventTypeEventsAPI {
				continue
			}
			outer, ok := evt.Data.(slackevents.EventsAPIEvent)
			if !ok {
				continue
			}
			if m, ok := outer.InnerEvent.Data.(*slackevents.AppMentionEvent); ok && m.BotID == "" &&
				strings.EqualFold(strings.TrimSpace(m.Text[strings.LastIndex(m.Text, ">")+1:]), "ping") {
				ts := m.ThreadTimeStamp
				if ts == "" {
					ts = m.TimeStamp
				}
				replies <- reply{m.Channel, ts}
			}
		}
	}
	close(replies)
	wg.Wait()
	if ctx.Err() != nil {
		return nil // SIGTERM: a clean stop
	}
	return fmt.Errorf("socket mode: %w", err)
}
