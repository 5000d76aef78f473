package botkit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// FuzzAccessSeesWhatHandlerActsOn: for any message, the app and env the
// access decision saw (the audit line's args) are the keys the handler
// looks up, so no spelling ("lİve", "LIVE", "<#C1|live>", "li\x00ve") lets
// a user outside a rule act on what the rule protects.
func FuzzAccessSeesWhatHandlerActsOn(f *testing.F) {
	for _, s := range []string{
		"deploy web main to live", "deploy web main to lİve", "deploy apİ main", "deploy API main to LIVE",
		"deploy web main to <#C0LIVE|live>", "deploy web `main` to `live`", "deploy web ma\x00in to li\x00ve",
		"deploy web main to live\u200b", "deploy web main to ｌｉｖｅ", "deploy web main to liv\u0065\u0301",
	} {
		f.Add(s)
	}
	var logs auditLog
	tr := botkittest.New(f, botkittest.WithRunOptions(botkit.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil)))))
	apps := map[string]bool{"web": true, "api": true}
	envs := map[string]bool{"dev": true, "live": true}
	var mu sync.Mutex
	var looked [2]string // the app and env the handler acted on
	tr.Bot().Command("deploy {app:name} {branch:plain} [to {env:name}]", func(ctx context.Context, req *botkit.Request) error {
		// As a careless handler would: strings.ToLower maps "İ" to "i",
		// which let "lİve" past a rule on live before arguments were
		// canonical. A canonical value is ASCII lowercase already.
		app, env := strings.ToLower(req.Arg("app")), strings.ToLower(req.Arg("env"))
		if env == "" {
			env = "dev"
		}
		if !apps[app] || !envs[env] {
			return botkit.Userf("unknown")
		}
		mu.Lock()
		looked = [2]string{app, env}
		mu.Unlock()
		return nil
	})
	err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{
		{Command: "deploy", Args: map[string]string{"env": "live"}, Users: []string{"U0BOSS"}},
		{Command: "deploy", Args: map[string]string{"app": "api"}, Users: []string{"U0BOSS"}},
	}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		mu.Lock()
		looked = [2]string{}
		mu.Unlock()
		logs.reset()
		tr.SayAs(t, "U0ANY", text)
		mu.Lock()
		app, env := looked[0], looked[1]
		mu.Unlock()
		if app == "" {
			return // the handler acted on nothing
		}
		if env == "live" || app == "api" {
			t.Fatalf("%q: a user outside the rules acted on app %q env %q", text, app, env)
		}
		args, decision := logs.last(t)
		if decision != "allow" || args["app"] != app || (args["env"] != env && !(args["env"] == "" && env == "dev")) {
			t.Fatalf("%q: the access check saw %v (%s), the handler acted on app %q env %q", text, args, decision, app, env)
		}
	})
}

// auditLog keeps the last audit line a JSON logger wrote.
type auditLog struct {
	mu   sync.Mutex
	line string
}

func (l *auditLog) Write(p []byte) (int, error) {
	if strings.Contains(string(p), `"msg":"audit"`) {
		l.mu.Lock()
		l.line = string(p)
		l.mu.Unlock()
	}
	return len(p), nil
}

func (l *auditLog) reset() {
	l.mu.Lock()
	l.line = ""
	l.mu.Unlock()
}

func (l *auditLog) last(t *testing.T) (map[string]string, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rec struct {
		Args     map[string]string `json:"args"`
		Decision string            `json:"decision"`
	}
	if err := json.Unmarshal([]byte(l.line), &rec); err != nil {
		t.Fatalf("audit line %q: %v", l.line, err)
	}
	return rec.Args, rec.Decision
}
