package slacktest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// responseURLOf returns the response_url of a slash command user typed in
// C1, pushed to an HTTP endpoint.
func responseURLOf(t *testing.T, srv *slacktest.Server, rc *receiver, user string) string {
	t.Helper()
	if _, err := srv.PushSlash(t.Context(), rc.srv.URL, user, "C1", "/deploy", "api"); err != nil {
		t.Fatal(err)
	}
	return rc.last(t).slash.ResponseURL
}

// respond posts body to a response_url and returns the status and the
// Slack error of the answer.
func respond(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var answer struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &answer); err != nil || answer.OK == (answer.Error != "") {
		t.Errorf("answer %s is no Slack answer: %v", raw, err)
	}
	return resp.StatusCode, answer.Error
}

func TestResponseURLFiveUses(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	u := responseURLOf(t, srv, rc, "U1")
	c := api(srv)
	ctx := t.Context()
	// slack-go, as a bot uses it: ephemeral by default, in_channel on request.
	if _, _, err := c.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, ""), slack.MsgOptionText("working on it", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, slack.ResponseTypeInChannel), slack.MsgOptionText("deploying api", false)); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if status, e := respond(t, u, `{"text":"step","thread_ts":"1700000000.000900"}`); status != http.StatusOK {
			t.Fatalf("use %d: %d %s", i+3, status, e)
		}
	}
	if status, e := respond(t, u, `{"text":"sixth"}`); status != http.StatusNotFound || e != "used_url" {
		t.Errorf("sixth use: %d %s, want 404 used_url", status, e)
	}
	_, _, err := c.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(u, ""), slack.MsgOptionText("seventh", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != http.StatusNotFound {
		t.Errorf("slack-go past the limit: err = %v, want a 404", err)
	}
	msgs := srv.Messages()
	if len(msgs) != slacktest.MaxResponseURLUses {
		t.Fatalf("%d messages, want %d: %+v", len(msgs), slacktest.MaxResponseURLUses, msgs)
	}
	first, second := msgs[0], msgs[1]
	if first.Method != "response_url" || first.Channel != "C1" || first.EphemeralUser != "U1" || first.Text != "working on it" || first.TS == "" {
		t.Errorf("ephemeral response = %+v", first)
	}
	if second.ResponseType != "in_channel" || second.EphemeralUser != "" {
		t.Errorf("in-channel response = %+v", second)
	}
	if msgs[2].ThreadTS != "1700000000.000900" {
		t.Errorf("thread_ts not kept: %+v", msgs[2])
	}
}

func TestResponseURLExpires(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t, slacktest.WithResponseURLExpiry(50*time.Millisecond))
	rc := newReceiver(t)
	u := responseURLOf(t, srv, rc, "U1")
	if status, e := respond(t, u, `{"text":"in time"}`); status != http.StatusOK {
		t.Fatalf("first use: %d %s", status, e)
	}
	time.Sleep(100 * time.Millisecond)
	if status, e := respond(t, u, `{"text":"late"}`); status != http.StatusNotFound || e != "expired_url" {
		t.Errorf("after expiry: %d %s, want 404 expired_url", status, e)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}

func TestResponseURLRefusals(t *testing.T) {
	t.Parallel()
	srv := slacktest.New(t)
	rc := newReceiver(t)
	u := responseURLOf(t, srv, rc, "U1")
	tests := []struct {
		name, url, body string
		status          int
		want            string
	}{
		{"not JSON", u, `text=hi`, http.StatusBadRequest, "invalid_payload"},
		{"bad response_type", u, `{"text":"hi","response_type":"everyone"}`, http.StatusBadRequest, "invalid_payload"},
		{"no text", u, `{"response_type":"in_channel"}`, http.StatusBadRequest, "no_text"},
		{"too many blocks", u, `{"blocks":[` + strings.Repeat(`{"type":"divider"},`, slacktest.MaxBlocks) + `{"type":"divider"}]}`,
			http.StatusBadRequest, "invalid_blocks"},
		{"never issued", srv.URL() + "/response/999999", `{"text":"hi"}`, http.StatusNotFound, "no_service"},
	}
	for _, tt := range tests {
		if status, e := respond(t, tt.url, tt.body); status != tt.status || e != tt.want {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, e, tt.status, tt.want)
		}
	}
	// Refused posts used nothing up.
	for i := range slacktest.MaxResponseURLUses {
		if status, e := respond(t, u, `{"text":"ok"}`); status != http.StatusOK {
			t.Fatalf("use %d after refusals: %d %s", i+1, status, e)
		}
	}
	var methods []string
	for _, m := range srv.Messages() {
		methods = append(methods, m.Method)
	}
	if diff := cmp.Diff([]string{"response_url", "response_url", "response_url", "response_url", "response_url"}, methods); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
}
