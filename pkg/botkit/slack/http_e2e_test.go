package slack_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// TestConformance runs the transport with the real slack-go client against
// slacktest, which pushes signed events and clicks to the transport's
// routes on loopback, as Slack does.
func TestHTTPConformance(t *testing.T) {
	botkittest.TestTransport(t, func(t *testing.T) botkittest.Harness {
		srv := slacktest.New(t)
		tr := slack.NewHTTP(slack.HTTPConfig{
			Config:        slack.Config{BotToken: slacktest.BotToken, APIURL: srv.APIURL()},
			SigningSecret: slacktest.SigningSecret,
		})
		mux := http.NewServeMux()
		tr.Routes(mux)
		bot := httptest.NewServer(mux)
		t.Cleanup(bot.Close)
		return botkittest.Harness{
			Transport: tr,
			User:      "U0CONF", Channel: "C0CONF",
			Send: func(t testing.TB, text string) {
				ev := slacktest.Event{User: "U0CONF", Channel: "C0CONF", Text: "<@" + slacktest.BotUser + "> " + text}
				push(t, func() (slacktest.PushResult, error) { return srv.PushEvent(t.Context(), bot.URL+slack.EventsPath, ev) })
			},
			Seen: func(testing.TB) []string {
				var out []string
				for _, m := range srv.Messages() {
					out = append(out, m.Text)
				}
				return out
			},
			Click: func(t testing.TB, user string, yes bool) {
				a := promptClick(t, srv, user, yes)
				push(t, func() (slacktest.PushResult, error) {
					return srv.PushClick(t.Context(), bot.URL+slack.InteractivePath, a)
				})
			},
			Slash: func(t testing.TB, command, text string) {
				push(t, func() (slacktest.PushResult, error) {
					return srv.PushSlash(t.Context(), bot.URL+slack.CommandsPath, "U0CONF", "C0CONF", command, text)
				})
			},
			Submit: func(t testing.TB, user string, values map[string]string) map[string]string {
				form := srv.WaitModal(t, user, "conf_form")
				vals := slacktest.Values{}
				for k, v := range values {
					vals[k] = []string{v}
				}
				res, err := srv.PushInteraction(t.Context(), bot.URL+slack.InteractivePath, slacktest.Submission{User: user, ViewID: form.ID, Values: vals})
				if err != nil || res.Status != http.StatusOK {
					t.Fatalf("submission: %d %v", res.Status, err)
				}
				return res.Answer.Errors
			},
		}
	})
}

// push sends a request until the transport takes it: it answers 503 until
// Listen has started, and Slack retries then, too.
func push(t testing.TB, send func() (slacktest.PushResult, error)) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		res, err := send()
		if err != nil {
			t.Fatal(err)
		}
		if res.Status == http.StatusOK {
			return
		}
		if res.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("push answered %d %s", res.Status, res.Body)
		}
	}
}
