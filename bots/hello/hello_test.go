package main

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/golden"
)

func newBot(t *testing.T, cfg Config, opts ...botkit.Option) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, botkittest.WithName("hello"), botkittest.WithRunOptions(opts...))
	if err := setup(t.Context(), tr.Bot(), botkit.NewLive(&cfg), botkit.Env{Name: "local"}); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestCommands(t *testing.T) {
	tr := newBot(t, Config{Greeting: "Howdy"})
	tests := []struct{ say, want string }{
		{"ping", "pong"},
		{"PING", "pong"},
		{"echo hello world", "hello world"},
		{"echo <@U42> &amp; &lt;b&gt;", "U42 &amp; &lt;b&gt;"}, // as Slack sends what was typed
		{"echo &lt;!channel&gt;", "&lt;!channel&gt;"},
		{"whoami", "Howdy <@U0TEST>! You are `U0TEST` in `C0TEST`, talking to the hello bot in local."},
		{"echo", "Usage: `echo &lt;text...&gt;`. See `help echo`."},
		{"pnig", "I don't know `pnig`. Did you mean `ping`? Try `help`."},
	}
	for _, tt := range tests {
		if got := botkittest.Last(tr.Say(t, tt.say)); got != tt.want {
			t.Errorf("Say(%q) = %q, want %q", tt.say, got, tt.want)
		}
	}
}

func TestHelpGolden(t *testing.T) {
	// help shows the jobs' next runs: read at a fixed time, a Friday noon.
	friday := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tr := newBot(t, Config{Greeting: "Hello"}, botkit.WithClock(func() time.Time { return friday }))
	got := botkittest.Last(tr.Say(t, "help"))
	golden.Check(t, "testdata/help.golden", got)
}

func TestConfigValidate(t *testing.T) {
	var c Config
	c.SetDefaults()
	if err := c.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	c.Greeting = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "greeting") {
		t.Errorf("empty greeting: Validate = %v, want an error naming the key", err)
	}
}

// TestMorning runs in a synctest bubble on a clock from a Friday at 8:59 in
// Paris: three days pass at once, with a run on Friday and one on Monday.
func TestMorning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start, origin := time.Date(2026, 12, 4, 7, 59, 0, 0, time.UTC), time.Now()
		tr := newBot(t, Config{Greeting: "Hi"}, botkit.WithClock(func() time.Time { return start.Add(time.Since(origin)) }))
		if err := tr.Apply(botkit.Settings{Schedule: botkit.ScheduleConfig{Channel: "C0MORNING"}}); err != nil {
			t.Fatal(err)
		}
		tr.Start()
		time.Sleep(3*24*time.Hour + time.Hour)
		tr.Stop()
		var got []string
		for _, r := range tr.Replies() {
			got = append(got, r.Channel+": "+r.Text)
		}
		want := []string{"C0MORNING: Hi, it is Friday morning.", "C0MORNING: Hi, it is Monday morning."}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("posts = %q, want %q", got, want)
		}
	})
}

// TestBinaryPipe runs the bot's main and pipes commands into it, as
// `printf 'ping\n' | make run` does.
func TestBinaryPipe(t *testing.T) {
	t.Parallel()
	cmd := botCmd(t, "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_CFG_GREETING=Hi")
	cmd.Stdin = strings.NewReader("ping\n@hello whoami\n")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("hello: %v\n%s", err, stderr.String())
	}
	want := "hello> ping\n  ↳ pong\nhello> @hello whoami\n  ↳ Hi @U0LOCAL! You are `U0LOCAL` in `C0LOCAL`, talking to the hello bot in local.\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

// TestLaunch runs in a synctest bubble: the countdown's seconds pass at
// once.
func TestLaunch(t *testing.T) {
	tests := []struct {
		name  string
		say   string
		yes   bool
		wants []string // the thread after the answer
	}{
		{"confirmed", "launch in 3", true, []string{"Launch the rocket in 3 s?\n→ confirmed.", "🚀 T-3", "🚀 T-2", "🚀 T-1", "🚀 Liftoff!"}},
		{"default countdown", "launch", true, []string{"Launch the rocket in 5 s?\n→ confirmed.", "🚀 T-5", "🚀 T-4", "🚀 T-3", "🚀 T-2", "🚀 T-1", "🚀 Liftoff!"}},
		{"cancelled", "launch in 3", false, []string{"Launch the rocket in 3 s?\n→ cancelled."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newBot(t, Config{Greeting: "Hello"})
				tr.Send(t, botkit.Event{User: botkittest.User, Channel: botkittest.Channel, Text: "<@UBOT> " + tt.say})
				prompt := tr.WaitPrompt(t)
				tr.Click(t, botkittest.User, prompt, tt.yes)
				synctest.Wait()
				var got []string
				for _, r := range tr.Thread(prompt.ThreadTS) {
					if r.TS != prompt.TS || r.Update { // the question's final edit and the countdown
						got = append(got, r.Text)
					}
				}
				if strings.Join(got, "|") != strings.Join(tt.wants, "|") {
					t.Errorf("thread = %q\nwant     %q", got, tt.wants)
				}
			})
		})
	}
}

func TestLaunchBadCountdown(t *testing.T) {
	tr := newBot(t, Config{Greeting: "Hello"})
	for _, tt := range []struct{ n, want string }{
		{"0", "`0` is not from 1 to 60 (the seconds of `launch [in &lt;seconds&gt;]`). See `help launch`."},
		{"61", "`61` is not from 1 to 60"},
		{"-1", "`-1` is not from 1 to 60"},
		{"ten", "`ten` is not a whole number"},
		{"1e3", "`1e3` is not a whole number"},
	} {
		n := tt.n
		got := botkittest.Last(tr.Say(t, "launch in "+n))
		if !strings.HasPrefix(got, tt.want) {
			t.Errorf("launch in %s = %q, want %q…", n, got, tt.want)
		}
		for _, r := range tr.Replies() {
			if r.Prompt != nil {
				t.Fatalf("launch in %s asked to confirm", n)
			}
		}
	}
}

// TestSlackAppManifests: each environment's committed Slack app manifest
// is what the code registers (slash command, shortcut, events, scopes);
// `go test -run TestSlackAppManifests -update` rewrites them.
func TestSlackAppManifests(t *testing.T) {
	botkittest.CheckSlackApps(t, []string{"dev", "prd"}, func(env string) *botkit.Bot {
		b := botkit.New("hello")
		cfg := Config{}
		cfg.SetDefaults()
		if err := setup(t.Context(), b, botkit.NewLive(&cfg), botkit.Env{Name: env}); err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func TestInteractions(t *testing.T) {
	tr := newBot(t, Config{Greeting: "Hello"})
	// The slash command runs commands, answering the user alone.
	if got := tr.Slash(t, "/hello", "ping"); len(got) != 1 || got[0].Text != "pong" || got[0].Ephemeral != botkittest.User {
		t.Errorf("/hello ping: %+v", got)
	}
	// The select's choice reaches its handler.
	msg := tr.Say(t, "color")
	if len(msg) != 1 || len(msg[0].Blocks) != 1 {
		t.Fatalf("color: %+v", msg)
	}
	got := tr.Act(t, "U0PICKER", botkittest.Channel, botkit.Action{ActionID: "pick_color", Type: "static_select", Value: "blue", MessageTS: msg[0].TS})
	if len(got) != 1 || got[0].Text != "<@U0PICKER> picked blue." {
		t.Errorf("a color picked: %+v", got)
	}
	// The form opens from the slash command, and checks what it is given.
	tr.Slash(t, "/hello", "feedback")
	views := tr.Views()
	if len(views) != 1 || views[0].Op != "open" || views[0].Modal.CallbackID != "feedback" {
		t.Fatalf("views = %+v", views)
	}
	form := func(text string) botkit.Submission {
		return botkit.Submission{CallbackID: "feedback", Inputs: []string{"feedback_text"},
			Values: map[string]map[string]botkit.FieldValue{"feedback_text": {"text": {Value: text}}}}
	}
	if a, ok := tr.Submit(t, botkittest.User, form(" x ")).(botkit.ViewAnswer); !ok || a.Errors["feedback_text"] == "" {
		t.Errorf("too short: %+v", a)
	}
	if a := tr.Submit(t, botkittest.User, form("more <coffee>")); a != nil {
		t.Errorf("valid feedback answered %+v, want the form closed", a)
	}
	if got := botkittest.Last(tr.Replies()); got != "Thanks! Noted: more &lt;coffee&gt;" {
		t.Errorf("thanks = %q", got)
	}
	// The home tab lists the commands, then the bot's own line.
	home := botkittest.BlockTexts(tr.OpenHome(t, botkittest.User).Blocks.BlockSet)
	if len(home) != 3 || !strings.Contains(home[1], "`launch [in &lt;seconds&gt;]`") || !strings.Contains(home[2], "Give feedback") {
		t.Errorf("home = %q", home)
	}
}
