package botkit_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

func accessBot(t *testing.T, s botkit.Settings, opts ...botkittest.Option) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, opts...)
	b := tr.Bot()
	b.Command("deploy {app:name} {branch:plain} [to {env:name}]", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "deploying")
		return err
	})
	b.Command("apps", reply("api"))
	b.Command("scale {svc:name} {n:int}", reply("scaled"))
	if err := tr.Apply(s); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return tr
}

var prdRules = botkit.Settings{Access: botkit.AccessConfig{
	Contact: "<!subteam^S0SRE|@sre>",
	Rules: []botkit.Rule{
		{Command: "deploy", Args: map[string]string{"env": "prd"}, Groups: []string{"S0DEPLOY"}, Users: []string{"U0BOSS"}, Confirm: true},
		{Name: "scalers", Command: "scale", Users: []string{"U0OPS"}},
		{Command: "deploy", Args: map[string]string{"env": "stg"}, Channels: []string{"C0DEPLOYS"}},
		{Command: "deploy", Args: map[string]string{"app": "db", "env": "prd"}}, // nobody
	},
}}

func TestAccessRules(t *testing.T) {
	tests := []struct {
		name, user, channel, say string
		want                     string // the first reply
	}{
		{"no rule: default allow", "U0ANY", "C1", "deploy api main", "deploying"},
		{"arg rule does not apply to other values", "U0ANY", "C1", "deploy api main to dev", "deploying"},
		{"prd denied outside group", "U0ANY", "C1", "deploy api main to prd",
			"You may not run this: access rule `deploy env=prd` does not include you. Ask <!subteam^S0SRE|@sre> for access."},
		{"prd arg value case-insensitive", "U0ANY", "C1", "deploy api main to PRD", "You may not run this: access rule `deploy env=prd`"},
		{"prd member asked to confirm", "U0DEV", "C1", "deploy api main to prd", "Run `deploy api main to prd`?"},
		{"prd listed user asked to confirm", "U0BOSS", "C1", "deploy api main to prd", "Run `deploy api main to prd`?"},
		{"most specific rule decides", "U0BOSS", "C1", "deploy db main to prd", "You may not run this: access rule `deploy app=db env=prd`"},
		{"named rule", "U0ANY", "C1", "scale web 3", "You may not run this: access rule `scalers` does not include you."},
		{"named rule allows", "U0OPS", "C1", "scale web 3", "scaled"},
		{"channel rule elsewhere", "U0ANY", "C1", "deploy api main to stg", "does not include you in this channel."},
		{"channel rule in channel", "U0ANY", "C0DEPLOYS", "deploy api main to stg", "deploying"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := accessBot(t, prdRules)
			tr.SetGroup("S0DEPLOY", "U0DEV", "U0OTHER")
			done := tr.SendAsync(t, botkit.Event{User: tt.user, Channel: tt.channel, TS: "1.1", Text: "<@UBOT> " + tt.say})
			var first string
			if strings.HasPrefix(tt.want, "Run ") {
				p := tr.WaitPrompt(t)
				first = p.Text
				tr.Click(t, tt.user, p, true)
				<-done
				if got := botkittest.Last(tr.Thread("1.1")); got != "deploying" {
					t.Errorf("after confirming: %q, want deploying", got)
				}
			} else {
				<-done
				first = botkittest.Texts(tr.Thread("1.1"))[0]
			}
			if !strings.HasPrefix(first, tt.want) && !strings.Contains(first, tt.want) {
				t.Errorf("first reply %q, want %q", first, tt.want)
			}
		})
	}
}

func TestAccessDefaultDenyAndHelp(t *testing.T) {
	s := prdRules
	s.Access.Default = botkit.PolicyDeny
	tr := accessBot(t, s)
	tr.SetGroup("S0DEPLOY", "U0DEV")
	if got := botkittest.Last(tr.SayAs(t, "U0ANY", "apps")); !strings.Contains(got, "not open to anyone by default") {
		t.Errorf("default deny: %q", got)
	}
	help := botkittest.Last(tr.SayAs(t, "U0ANY", "help"))
	if strings.Contains(help, "apps") || strings.Contains(help, "scale") || strings.Contains(help, "deploy") {
		t.Errorf("help shows commands the user may not run:\n%s", help)
	}
	if !strings.Contains(help, "(3 more you may not run: `help all` lists them.)") {
		t.Errorf("help does not say commands are hidden:\n%s", help)
	}
	if help := botkittest.Last(tr.SayAs(t, "U0OPS", "help")); !strings.Contains(help, "scale") || strings.Contains(help, "apps") {
		t.Errorf("U0OPS help:\n%s", help)
	}
	if help := botkittest.Last(tr.SayAs(t, "U0DEV", "help")); !strings.Contains(help, "deploy") {
		t.Errorf("a prd deployer does not see deploy:\n%s", help)
	}
	if all := botkittest.Last(tr.SayAs(t, "U0ANY", "help all")); !strings.Contains(all, "apps") || !strings.Contains(all, "scale") {
		t.Errorf("help all hides commands:\n%s", all)
	}
}

func TestAccessFailsClosed(t *testing.T) {
	tr := accessBot(t, prdRules)
	tr.FailGroups(errors.New("ratelimited"))
	got := botkittest.Last(tr.SayAs(t, "U0DEV", "deploy api main to prd"))
	if !strings.Contains(got, "I couldn't check your access to `deploy`") {
		t.Errorf("group lookup failure: %q, want a fail-closed denial", got)
	}
	// Lookups are cached: two checks within the TTL ask Slack once.
	tr.FailGroups(nil)
	tr.SetGroup("S0DEPLOY", "U0DEV")
	before := tr.GroupLookups()
	tr.SayAs(t, "U0ANY", "deploy api main to prd")
	tr.SayAs(t, "U0ANY", "deploy api main to prd")
	if n := tr.GroupLookups() - before; n != 1 {
		t.Errorf("%d group lookups for two checks, want 1 (cached)", n)
	}
}

func TestApplyRejectsBadRules(t *testing.T) {
	tests := []struct {
		name string
		s    botkit.Settings
		want string
	}{
		{"unknown command", botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "deploi"}}}},
			`key access.rules[0].command: unknown command "deploi" (commands: deploy, apps, scale)`},
		{"unknown arg", botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "deploy", Args: map[string]string{"envv": "prd"}}}}},
			`key access.rules[0].args.envv: command "deploy" has no argument "envv"`},
		{"bad default", botkit.Settings{Access: botkit.AccessConfig{Default: "maybe"}}, `key access.default: "maybe" is not allow or deny`},
		{"bad user id", botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "apps", Users: []string{"alice"}}}}}, `"alice" is not a Slack user ID`},
		{"bad group id", botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Command: "apps", Groups: []string{"sre"}}}}}, `"sre" is not a Slack user group ID`},
		{"negative rate", botkit.Settings{RateLimit: botkit.RateLimitConfig{PerMinute: -1}}, "rate_limit.per_minute"},
		{"bad audit channel", botkit.Settings{Audit: botkit.AuditConfig{Channel: "#audit"}}, "key audit.channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := botkit.New("t")
			b.Command("deploy {app:name} {branch:plain} [to {env:name}]", reply("x"))
			b.Command("apps", reply("x"))
			b.Command("scale {svc:name} {n:int}", reply("x"))
			err := b.CheckSettings(tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Apply = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	tr := accessBot(t, botkit.Settings{RateLimit: botkit.RateLimitConfig{PerMinute: 2}})
	for i := range 2 {
		if got := botkittest.Last(tr.SayAs(t, "U1", "apps")); got != "api" {
			t.Fatalf("run %d: %q", i, got)
		}
	}
	if got := botkittest.Last(tr.SayAs(t, "U1", "apps")); !strings.HasPrefix(got, "You're sending commands faster than 2 a minute; try again in") {
		t.Errorf("third run: %q, want a rate-limit note", got)
	}
	if got := botkittest.Last(tr.SayAs(t, "U2", "apps")); got != "api" {
		t.Errorf("another user was limited too: %q", got)
	}
}

func TestAuditTrail(t *testing.T) {
	var logs bytes.Buffer
	s := prdRules
	s.Audit.Channel = "C0AUDIT"
	tr := accessBot(t, s, botkittest.WithRunOptions(botkit.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))))
	tr.SetGroup("S0DEPLOY", "U0DEV")
	tr.SayAs(t, "U0ANY", "deploy api feature/x")
	tr.SayAs(t, "U0ANY", "deploy api main to prd")
	var lines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `"msg":"audit"`) {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d audit lines, want 2:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{`"user":"U0ANY"`, `"command":"deploy {app:name} {branch:plain} [to {env:name}]"`, `"args":{"app":"api","branch":"feature/x","env":""}`, `"decision":"allow"`, `"outcome":"ok"`, `"correlation_id":"`, `"duration":`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("audit line lacks %s:\n%s", want, lines[0])
		}
	}
	for _, want := range []string{`"decision":"deny"`, `"outcome":"refused"`} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("denied audit line lacks %s:\n%s", want, lines[1])
		}
	}
	var posted []string
	for _, r := range tr.Replies() {
		if r.Channel == "C0AUDIT" {
			posted = append(posted, r.Text)
		}
	}
	if len(posted) != 2 || !strings.HasPrefix(posted[0], "<@U0ANY> ran `deploy api feature/x` in <#C0TEST>: ok (allow,") ||
		!strings.Contains(posted[1], ": refused (deny,") {
		t.Errorf("audit channel got %q", posted)
	}
}
