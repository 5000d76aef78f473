package botkit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

func confirmBot(t *testing.T, opts ...botkit.ConfirmOption) *botkittest.Transport {
	tr := botkittest.New(t)
	tr.Bot().Command("deploy {app} to {env}", func(ctx context.Context, req *botkit.Request) error {
		ok, err := req.Confirm(ctx, "Deploy *"+req.Arg("app")+"* to *"+req.Arg("env")+"*?", opts...)
		if err != nil {
			return err
		}
		if !ok {
			return botkit.Userf("Not deployed.")
		}
		_, err = req.Reply(ctx, "deployed")
		return err
	})
	return tr
}

func TestConfirmYes(t *testing.T) {
	tr := confirmBot(t)
	done := tr.SendAsync(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.1", Text: "<@UBOT> deploy api to prd"})
	prompt := tr.WaitPrompt(t)
	if prompt.Text != "Deploy *api* to *prd*?" || prompt.ThreadTS != "9.1" {
		t.Fatalf("prompt = %+v", prompt)
	}
	// Someone else cannot answer.
	got := tr.Click(t, "U0MALLORY", prompt, true)
	last := got[len(got)-1]
	if last.Ephemeral != "U0MALLORY" || !strings.Contains(last.Text, "Only <@U0TEST> can answer") {
		t.Fatalf("a stranger's click got %+v, want an ephemeral refusal", last)
	}
	tr.Click(t, botkittest.User, prompt, true)
	<-done
	texts := botkittest.Texts(tr.Thread("9.1"))
	want := []string{"Deploy *api* to *prd*?", "Only <@U0TEST> can answer this confirmation.", "Deploy *api* to *prd*?\n→ confirmed.", "deployed"}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("thread = %q, want %q", texts, want)
	}
	// A second click after the answer finds the question gone.
	got = tr.Click(t, botkittest.User, prompt, true)
	if last := got[len(got)-1]; !strings.Contains(last.Text, "expired, run the command again") {
		t.Errorf("late click got %q, want an expiry note", last.Text)
	}
}

func TestConfirmNoAndOtherUsers(t *testing.T) {
	tr := confirmBot(t, botkit.ConfirmUsers("U0LEAD"))
	done := tr.SendAsync(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.2", Text: "<@UBOT> deploy api to prd"})
	prompt := tr.WaitPrompt(t)
	tr.Click(t, "U0LEAD", prompt, false)
	<-done
	texts := botkittest.Texts(tr.Thread("9.2"))
	want := []string{"Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ cancelled.", "Not deployed."}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("thread = %q, want %q", texts, want)
	}
}

func TestConfirmTimeout(t *testing.T) {
	tr := confirmBot(t, botkit.ConfirmTimeout(30*time.Millisecond))
	got := tr.Send(t, botkit.Event{User: botkittest.User, Channel: "C1", TS: "9.3", Text: "<@UBOT> deploy api to prd"})
	texts := botkittest.Texts(got)
	want := []string{"Deploy *api* to *prd*?", "Deploy *api* to *prd*?\n→ cancelled: no answer within 30ms.", "Not deployed."}
	if strings.Join(texts, "|") != strings.Join(want, "|") {
		t.Errorf("thread = %q, want %q", texts, want)
	}
}
