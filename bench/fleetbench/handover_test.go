package fleetbench

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// These tests run issue 18's last two scenarios with bin/hello: a click on
// a confirmation or an approval handed to the process that did not post
// it, and a scheduled tick that comes during a rolling restart. Each is
// handled once.

// withConfig returns bot with yaml as its config file.
func withConfig(tb testing.TB, bot Bot, yaml string) Bot {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "dev.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		tb.Fatal(err)
	}
	bot.Env = append(append([]string{}, bot.Env...), "BOT_CONFIG="+path)
	return bot
}

// Users of the click scenarios.
const (
	requester = "U0REQ"
	approver  = "U0LEAD"
)

// clicksConfig is hello's config with an approval on echo: one member of
// S0LEADS approves each run.
const clicksConfig = `greeting: Hello
access:
  rules:
    - command: echo
      approve: {groups: [S0LEADS], count: 1}
`

var yes = botkit.ConfirmActionID + "_yes"

// TestClicksAtTheOtherProcess: the click on a confirmation or an approval
// posted by one process of hello goes to the other (two replicas on one
// state directory), or comes after its poster stopped (a rolling restart):
// the command runs once, and the same click delivered again is told the
// question was answered.
func TestClicksAtTheOtherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/hello")
	}
	t.Parallel()
	bot := withConfig(t, helloBot(t), clicksConfig)
	for _, tt := range []struct {
		name    string
		rolling bool   // the poster stops before the click, its successor takes it
		user    string // who mentions
		text    string // the mention
		prompt  string // the question's text starts so
		clicker string
		ran     func(slacktest.Message) bool // the command's one effect
		again   string                       // what the second click is told starts so (a time follows)
	}{
		{"confirmation, two replicas", false, requester, "launch in 1", "Launch the rocket in 1 s?", requester, liftoff, "This confirmation was answered already: you confirmed it at "},
		{"approval, two replicas", false, requester, "echo approved", "", approver, echoed("approved"), "This request was decided already: you approved it at "},
		{"confirmation, rolling restart", true, requester, "launch in 1", "Launch the rocket in 1 s?", requester, liftoff, "This confirmation was answered already: you confirmed it at "},
		{"approval, rolling restart", true, requester, "echo approved", "", approver, echoed("approved"), "This request was decided already: you approved it at "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := slacktest.New(t, slacktest.WithWaitTimeout(20*time.Second),
				slacktest.WithRoute(slacktest.RouteAwayFromOrigin(slacktest.RouteRandom(1))))
			srv.SetUserGroup("S0LEADS", approver)
			f := NewFleet(t, shared(t, bot), srv)
			first, err := f.Start()
			if err != nil {
				t.Fatal(err)
			}
			if !tt.rolling {
				if _, err := f.Start(); err != nil {
					t.Fatal(err)
				}
			}
			event, _ := srv.Mention(tt.user, Channel, tt.text)
			var click slacktest.Action
			srv.WaitFor(t, 0, func() bool {
				for _, m := range srv.Messages() {
					if m.Method == "chat.postMessage" && strings.HasPrefix(m.Text, tt.prompt) && m.Blocks != "" {
						if v, ok := m.Button(yes); ok {
							click = slacktest.Action{User: tt.clicker, Channel: m.Channel, MessageTS: m.TS, ActionID: yes, Value: v}
							return true
						}
					}
				}
				return false
			})
			origin := socketOf(srv, func(e slacktest.Envelope) bool { return e.EventID == event })
			if tt.rolling {
				if _, err := f.Start(); err != nil {
					t.Fatal(err)
				}
				if err := first.Stop(); err != nil {
					t.Fatal(err)
				}
			}
			env := srv.Click(click)
			srv.WaitFor(t, 0, func() bool { return count(srv, tt.ran) == 1 })
			if got := socketOf(srv, func(e slacktest.Envelope) bool { return e.ID == env }); got == origin || got == 0 {
				t.Fatalf("the click went to socket %d, the mention to %d: want another\n%s", got, origin, f.logTail())
			}
			// The same click again (a double click, or Slack delivering it
			// twice): told, and nothing runs.
			srv.Click(click)
			told := func(m slacktest.Message) bool {
				return m.Method == "chat.postEphemeral" && m.EphemeralUser == tt.clicker && strings.HasPrefix(m.Text, tt.again)
			}
			srv.WaitFor(t, 0, func() bool { return count(srv, told) == 1 })
			time.Sleep(time.Second) // room for a second run, were there one
			if n := count(srv, tt.ran); n != 1 {
				t.Errorf("the command ran %d times, want 1:\n%s", n, f.logTail())
			}
			if n := audits(t, f, `"command":"`+strings.Fields(tt.text)[0], `"outcome":"ok"`); n != 1 {
				t.Errorf("%d audit lines of the command's run over both processes, want 1:\n%s", n, f.logTail())
			}
		})
	}
}

func liftoff(m slacktest.Message) bool { return m.Method == "chat.update" && m.Text == "🚀 Liftoff!" }

func echoed(text string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool { return m.Method == "chat.postMessage" && m.Text == text }
}

// count is how many of the bot's posts and edits satisfy ok.
func count(srv *slacktest.Server, ok func(slacktest.Message) bool) int {
	n := 0
	for _, m := range srv.Messages() {
		if ok(m) {
			n++
		}
	}
	return n
}

// socketOf returns the socket that acked the first envelope satisfying ok,
// or 0.
func socketOf(srv *slacktest.Server, ok func(slacktest.Envelope) bool) int {
	for _, e := range srv.Envelopes() {
		if ok(e) && e.Acked {
			return e.Socket
		}
	}
	return 0
}

// audits counts the audit lines containing every one of fields in the
// logs of every process the fleet started.
func audits(t *testing.T, f *Fleet, fields ...string) int {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, p := range f.procs {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, `"msg":"audit"`) && !slices.ContainsFunc(fields, func(f string) bool { return !strings.Contains(line, f) }) {
				n++
			}
		}
	}
	return n
}

// scheduleConfig makes hello's morning job tick every minute.
const scheduleConfig = `greeting: Hello
schedule:
  channel: ` + Channel + `
  jobs:
    morning:
      cron: "* * * * *"
`

// morning is what hello's morning job posts.
var morning = regexp.MustCompile(`^Hello, it is [A-Z][a-z]+day morning\.$`)

// TestScheduleDuringRollingRestart: hello's morning job, set to tick every
// minute by the config, comes due while a rolling restart has both
// processes running: the old one gets SIGTERM at the tick. It runs once.
// The test waits for the next minute to start, half a minute on average.
func TestScheduleDuringRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs bin/hello for up to a minute")
	}
	t.Parallel()
	bot := withConfig(t, helloBot(t), scheduleConfig)
	srv := slacktest.New(t, slacktest.WithRoute(slacktest.RouteRandom(1)))
	f := NewFleet(t, shared(t, bot), srv)
	// The tick: the next minute, if it leaves the old process time to
	// start and the new one time to start before it.
	if time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)) < 10*time.Second {
		time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute + time.Second)))
	}
	tick := time.Now().Truncate(time.Minute).Add(time.Minute)
	old, err := f.Start()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(tick.Add(-5 * time.Second)))
	if n := count(srv, isMorning); n != 0 {
		t.Fatalf("%d morning posts before the tick, want none", n)
	}
	next, err := f.Start()
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().After(tick) {
		t.Fatalf("the new process was ready at %v, after the tick at %v: the scenario did not happen", time.Now().Format(time.TimeOnly), tick.Format(time.TimeOnly))
	}
	time.Sleep(time.Until(tick))
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 20*time.Second, func() bool { return count(srv, isMorning) > 0 })
	time.Sleep(2 * time.Second) // room for a second run, were there one
	if err := next.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := count(srv, isMorning); n != 1 {
		t.Errorf("%d morning posts for the %s tick, want 1:\n%s", n, tick.Format(time.TimeOnly), f.logTail())
	}
	if n := audits(t, f, `"job":"morning"`); n != 1 {
		t.Errorf("%d audit lines of the job over both processes, want 1:\n%s", n, f.logTail())
	}
}

func isMorning(m slacktest.Message) bool {
	return m.Method == "chat.postMessage" && m.Channel == Channel && morning.MatchString(m.Text)
}
