package slack_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// TestMain makes the test binary a bot process when INBOX_TEST_CHILD says
// so: the tests below kill it with SIGKILL.
func TestMain(m *testing.M) {
	if os.Getenv("INBOX_TEST_CHILD") == "" {
		os.Exit(m.Run())
	}
	inboxChild()
	os.Exit(0)
}

// inboxChild runs a bot on the fake at INBOX_API_URL with the state
// directory INBOX_STATE_DIR, whose command slow says "started" on stdout
// and never ends.
func inboxChild() {
	b := botkit.New("inbox")
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		fmt.Println("started", req.EventID)
		<-ctx.Done()
		return nil
	})
	tr := slack.NewSocket(slack.SocketConfig{Config: slack.Config{
		BotToken: slacktest.BotToken, AppToken: slacktest.AppToken, APIURL: os.Getenv("INBOX_API_URL")}})
	err := b.Run(context.Background(), tr, botkit.WithStateDir(os.Getenv("INBOX_STATE_DIR")))
	fmt.Println("run ended", err)
}

// TestInboxKilledMidHandling: a process acks a mention only once it is
// recorded in the state directory, and is killed with SIGKILL while
// handling it; another process sharing the directory takes the event
// over and answers it, once, and a retry of the event reaching it later
// is not answered again.
func TestInboxKilledMidHandling(t *testing.T) {
	srv := slacktest.New(t)
	state := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "INBOX_TEST_CHILD=1", "INBOX_API_URL="+srv.APIURL(), "INBOX_STATE_DIR="+state)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	srv.WaitConnected(t)

	eventID, env := srv.Mention("U1", "C1", "slow")
	srv.WaitAck(t, env)
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "started "+eventID {
		t.Fatalf("child said %q, want started %s", lines.Text(), eventID)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	b := botkit.New("inbox")
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "done "+req.EventID)
		return err
	})
	runBot(t, b, newTransport(srv, slacktest.AppToken, nil), botkit.WithStateDir(state))
	msgs := srv.WaitMessages(t, 1)
	if msgs[0].Text != "done "+eventID || msgs[0].Channel != "C1" {
		t.Fatalf("reply %+v, want done %s in C1", msgs[0], eventID)
	}
	srv.WaitConnected(t)
	retry := srv.Retry(eventID)
	srv.WaitAck(t, retry)
	time.Sleep(300 * time.Millisecond) // a second answer would come now
	var answers []string
	for _, m := range srv.Messages() {
		if strings.HasPrefix(m.Text, "done") {
			answers = append(answers, m.Text)
		}
	}
	if len(answers) != 1 {
		t.Errorf("answers %q, want one", answers)
	}
}

// TestInboxHTTPRetryToOtherProcess: over the HTTP Events API, two
// processes share a state directory; a mention answered 200 by one, and
// retried by Slack to the other, is answered once.
func TestInboxHTTPRetryToOtherProcess(t *testing.T) {
	srv := slacktest.New(t)
	state := t.TempDir()
	var urls []string
	for range 2 {
		tr := slack.NewHTTP(slack.HTTPConfig{
			Config:        slack.Config{BotToken: slacktest.BotToken, APIURL: srv.APIURL()},
			SigningSecret: slacktest.SigningSecret,
		})
		mux := http.NewServeMux()
		tr.Routes(mux)
		bot := httptest.NewServer(mux)
		t.Cleanup(bot.Close)
		urls = append(urls, bot.URL+slack.EventsPath)
		b := botkit.New("inbox")
		b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
			_, err := req.Reply(ctx, "pong")
			return err
		})
		runBot(t, b, tr, botkit.WithStateDir(state))
	}
	var eventID string
	push(t, func() (slacktest.PushResult, error) {
		res, err := srv.PushEvent(t.Context(), urls[0], slacktest.Event{User: "U1", Channel: "C1", Text: "<@" + slacktest.BotUser + "> ping"})
		eventID = res.EventID
		return res, err
	})
	push(t, func() (slacktest.PushResult, error) {
		return srv.PushRetry(t.Context(), urls[1], eventID)
	})
	srv.WaitMessages(t, 1)
	time.Sleep(300 * time.Millisecond) // a second answer would come now
	if got := texts(srv); len(got) != 1 || got[0] != "pong" {
		t.Errorf("answers %q, want one pong", got)
	}
}
