package botkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// TestQueuedAtShutdownStayInInbox: with a state directory, events acked
// and queued but not started when the grace period ends get no restart
// note: they stay in the inbox, and the next process takes them over and
// answers each once.
func TestQueuedAtShutdownStayInInbox(t *testing.T) {
	state := t.TempDir()
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithMaxInFlight(1), botkit.WithGracePeriod(50*time.Millisecond), botkit.WithStateDir(state)))
	started := make(chan struct{})
	tr.Bot().Command("hang", func(ctx context.Context, _ *botkit.Request) error {
		close(started)
		<-ctx.Done()
		return nil
	})
	tr.Bot().Command("ping", reply("pong"))
	tr.SendAsync(t, botkit.Event{User: "U1", Channel: "C1", TS: "4.0", Text: "<@UBOT> hang"})
	<-started
	var dones []<-chan struct{}
	for i := range 3 {
		dones = append(dones, tr.SendAsync(t, botkit.Event{User: "U2", Channel: "C1", TS: fmt.Sprintf("4.%d", i+1), Text: "<@UBOT> ping"}))
	}
	time.Sleep(100 * time.Millisecond) // recorded and queued
	tr.Stop()
	for i, d := range dones {
		<-d
		if got := botkittest.Texts(tr.Thread(fmt.Sprintf("4.%d", i+1))); len(got) != 0 {
			t.Errorf("queued ping %d got %q from the stopping process, want nothing", i+1, got)
		}
	}

	next := botkittest.New(t, botkittest.WithRunOptions(botkit.WithStateDir(state)))
	next.Bot().Command("hang", func(context.Context, *botkit.Request) error { return nil })
	next.Bot().Command("ping", reply("pong"))
	next.Start()
	deadline := time.Now().Add(10 * time.Second)
	for i := range 3 {
		thread := fmt.Sprintf("4.%d", i+1)
		for len(next.Thread(thread)) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // a second answer would come now
	for i := range 3 {
		if got := botkittest.Texts(next.Thread(fmt.Sprintf("4.%d", i+1))); !cmp.Equal(got, []string{"pong"}) {
			t.Errorf("ping %d got %q from the next process, want one pong", i+1, got)
		}
	}
}
