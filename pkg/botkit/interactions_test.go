package botkit_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
)

// interactiveBot has a command, a slash command for it and one listener of
// each kind, behind access rules.
func interactiveBot(t *testing.T, opts ...botkittest.Option) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, append([]botkittest.Option{botkittest.WithName("ops")}, opts...)...)
	b := tr.Bot()
	b.Command("deploy {app:name} {branch:plain} [to {env:dev|prd}]", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "deploying %s@%s to %s (%s)", req.Arg("app"), req.Arg("branch"), req.Arg("env"), req.Kind)
		return err
	}, botkit.Describe("Deploy a branch"), botkit.Default("env", func(*botkit.Request) string { return "dev" }))
	b.Command("progress", func(ctx context.Context, req *botkit.Request) error {
		ref, err := req.Reply(ctx, "step 0")
		if err != nil {
			return err
		}
		for i := 1; i <= 6; i++ {
			if err := req.Update(ctx, ref, fmt.Sprintf("step %d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	b.Slash("/deploy", botkit.Describe("Deploy a branch of an app"))
	b.Slash("/ops")
	b.Slash("/loud", botkit.InChannel())
	b.Action("approve", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "approved %s by <@%s>", req.Action().Value, req.User)
		return err
	})
	b.Action("pick_env", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, deployForm(req.Action().Value))
		return err
	})
	b.View("deploy_form", func(ctx context.Context, req *botkit.Request) error {
		if req.Submission().Closed {
			return nil
		}
		app := req.Field("app")
		if app == "" || strings.ContainsAny(app, " /") {
			return botkit.FieldErrors{"app": "Give an app name, like api."}
		}
		if req.Field("env") == "stg" {
			next := deployForm("prd")
			req.Answer(botkit.ViewAnswer{Update: &next})
			return nil
		}
		_, err := req.Replyf(ctx, "form: %s to %s", app, req.Field("env"))
		return err
	})
	b.View("slow_form", func(ctx context.Context, req *botkit.Request) error {
		time.Sleep(botkit.AnswerBudget + 500*time.Millisecond)
		return nil
	})
	b.Options("pick_app", func(ctx context.Context, req *botkit.Request) ([]botkit.Choice, error) {
		var out []botkit.Choice
		for _, a := range []string{"api", "app-store", "web"} {
			if strings.HasPrefix(a, req.Suggestion().Value) {
				out = append(out, botkit.Choice{Text: a, Value: a})
			}
		}
		return out, nil
	})
	b.Shortcut("new_deploy", "New deploy", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.OpenView(ctx, deployForm("dev"))
		return err
	})
	b.Event("reaction_added", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Replyf(ctx, "saw a %s", req.Event().Type)
		return err
	})
	b.Home(func(ctx context.Context, req *botkit.Request) ([]slack.Block, error) {
		return []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Your deploys: none", false, false), nil, nil)}, nil
	})
	err := tr.Apply(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{
		{Name: "prd", Command: "deploy", Args: map[string]string{"env": "prd"}, Users: []string{"U0BOSS"}},
		{Name: "approvers", Action: "approve", Users: []string{"U0BOSS"}},
		{Name: "formers", View: "deploy_form", Users: []string{botkittest.User, "U0BOSS"}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func deployForm(env string) slack.ModalViewRequest {
	input := func(id, label string) *slack.InputBlock {
		return slack.NewInputBlock(id, slack.NewTextBlockObject(slack.PlainTextType, label, false, false), nil,
			slack.NewPlainTextInputBlockElement(nil, "v"))
	}
	return slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "deploy_form",
		Title:  slack.NewTextBlockObject(slack.PlainTextType, "Deploy to "+env, false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Deploy", false, false),
		Blocks: slack.Blocks{BlockSet: []slack.Block{input("app", "App"), input("env", "Env")}}}
}

func TestSlashCommands(t *testing.T) {
	tr := interactiveBot(t)
	tests := []struct {
		name, user, command, text string
		want                      []string
		inChannel                 bool
	}{
		{"the command of its name", botkittest.User, "/deploy", "api main", []string{"deploying api@main to dev (slash)"}, false},
		{"a whole command", botkittest.User, "/ops", "deploy api main to DEV", []string{"deploying api@main to dev (slash)"}, false},
		{"help", botkittest.User, "/ops", "help deploy", []string{"`deploy &lt;app&gt; &lt;branch&gt; [to &lt;dev|prd&gt;]`\nDeploy a branch"}, false},
		{"usage", botkittest.User, "/deploy", "api", []string{"Usage: `deploy &lt;app&gt; &lt;branch&gt; [to &lt;dev|prd&gt;]`. See `help deploy`."}, false},
		{"a bad argument", botkittest.User, "/deploy", "api main to qa", []string{"`qa` is not one of dev, prd (the env of `deploy &lt;app&gt; &lt;branch&gt; [to &lt;dev|prd&gt;]`). See `help deploy`."}, false},
		{"access rules hold", "U0ANY", "/deploy", "api main to prd", []string{"You may not run this: access rule `prd` does not include you."}, false},
		{"allowed", "U0BOSS", "/deploy", "api main to prd", []string{"deploying api@main to prd (slash)"}, false},
		{"in channel", botkittest.User, "/loud", "deploy web x", []string{"deploying web@x to dev (slash)"}, true},
		{"not ours", botkittest.User, "/other", "x", []string{"I don't handle `/other`. Try `@ops help`."}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tr.SlashAs(t, tt.user, tt.command, tt.text)
			if diff := cmp.Diff(tt.want, botkittest.Texts(got)); diff != "" {
				t.Fatalf("replies (-want +got):\n%s", diff)
			}
			for _, r := range got {
				if r.ResponseURL == "" {
					t.Errorf("%q was posted, not answered at the response_url", r.Text)
				}
				if wantEph := !tt.inChannel; (r.Ephemeral == tt.user) != wantEph {
					t.Errorf("%q ephemeral to %q, want ephemeral %v", r.Text, r.Ephemeral, wantEph)
				}
			}
		})
	}
}

// A long run answers at the response_url while Slack takes answers there
// (5), then goes on in the channel.
func TestSlashResponseURLBudget(t *testing.T) {
	tr := interactiveBot(t)
	got := tr.Slash(t, "/ops", "progress")
	var atURL, posted []string
	for _, r := range got {
		if r.ResponseURL != "" {
			atURL = append(atURL, r.Text)
		} else {
			posted = append(posted, r.Text)
		}
	}
	if !cmp.Equal(atURL, []string{"step 0", "step 1", "step 2", "step 3", "step 4"}) || !cmp.Equal(posted, []string{"step 5", "step 6"}) {
		t.Errorf("at the response_url %q, posted %q", atURL, posted)
	}
}

// Slack does not namespace slash commands: dev's app declares /deploy-dev,
// and the bot takes it as /deploy.
func TestSlashEnvironmentSuffix(t *testing.T) {
	tr := interactiveBot(t, botkittest.WithRunOptions(botkit.WithEnvironment("dev")))
	if got := botkittest.Texts(tr.Slash(t, "/deploy-dev", "api main")); !cmp.Equal(got, []string{"deploying api@main to dev (slash)"}) {
		t.Errorf("/deploy-dev: %q", got)
	}
	if got := botkittest.Texts(tr.Slash(t, "/deploy-prd", "api main")); !cmp.Equal(got, []string{"I don't handle `/deploy-prd`. Try `@ops help`."}) {
		t.Errorf("/deploy-prd in dev: %q", got)
	}
	if got, want := botkit.SlashName("/deploy", "dev"), "/deploy-dev"; got != want {
		t.Errorf("SlashName = %q, want %q", got, want)
	}
	if got, want := botkit.SlashName("/deploy", "prd"), "/deploy"; got != want {
		t.Errorf("SlashName = %q, want %q", got, want)
	}
}

func TestActions(t *testing.T) {
	tr := interactiveBot(t)
	click := botkit.Action{ActionID: "approve", Value: "release-42", MessageTS: "5.5"}
	got := tr.Act(t, "U0BOSS", "C1", click)
	if len(got) != 1 || got[0].Text != "approved release-42 by <@U0BOSS>" || got[0].ThreadTS != "5.5" || got[0].Channel != "C1" {
		t.Errorf("approver's click: %+v", got)
	}
	got = tr.Act(t, "U0ANY", "C1", click)
	if len(got) != 1 || !strings.HasPrefix(got[0].Text, "You may not run this: access rule `approvers`") || got[0].ThreadTS != "5.5" || got[0].Ephemeral != "U0ANY" {
		t.Errorf("a click the rule denies: %+v", got)
	}
	got = tr.Act(t, "U0ANY", "C1", botkit.Action{ActionID: "gone", MessageTS: "5.6"})
	if len(got) != 1 || !strings.Contains(got[0].Text, "no longer does anything") || got[0].Ephemeral != "U0ANY" {
		t.Errorf("an unknown action: %+v", got)
	}
	// A select opens a modal from the click's trigger.
	tr.Act(t, botkittest.User, "C1", botkit.Action{ActionID: "pick_env", Type: "static_select", Value: "prd", MessageTS: "5.7"})
	views := tr.Views()
	if len(views) != 1 || views[0].Op != "open" || views[0].Modal.Title.Text != "Deploy to prd" {
		t.Errorf("views = %+v", views)
	}
}

func TestViewSubmissions(t *testing.T) {
	tr := interactiveBot(t)
	form := func(app, env string) botkit.Submission {
		return botkit.Submission{ViewID: "V1", CallbackID: "deploy_form", Inputs: []string{"app", "env"},
			Values: map[string]map[string]botkit.FieldValue{"app": {"v": {Value: app}}, "env": {"v": {Value: env}}}}
	}
	if a := tr.Submit(t, botkittest.User, form("api", "dev")); a != nil {
		t.Errorf("a valid form answered %+v, want the modal closed", a)
	}
	if got := botkittest.Texts(tr.Thread("")); !cmp.Equal(got, []string{"form: api to dev"}) {
		t.Errorf("the form's reply (a direct message): %q", got)
	}
	a := tr.Submit(t, botkittest.User, form("a b", "dev"))
	if diff := cmp.Diff(botkit.ViewAnswer{Errors: map[string]string{"app": "Give an app name, like api."}}, a); diff != "" {
		t.Errorf("an invalid form (-want +got):\n%s", diff)
	}
	if a, ok := tr.Submit(t, botkittest.User, form("api", "stg")).(botkit.ViewAnswer); !ok || a.Update == nil || a.Update.Title.Text != "Deploy to prd" {
		t.Errorf("an update answer: %+v", a)
	}
	a = tr.Submit(t, "U0ANY", form("api", "dev"))
	if va, ok := a.(botkit.ViewAnswer); !ok || !strings.HasPrefix(va.Errors["app"], "You may not run this: access rule `formers`") {
		t.Errorf("a submission the rule denies: %+v", a)
	}
	a = tr.Submit(t, botkittest.User, botkit.Submission{CallbackID: "nobody_has_it", Inputs: []string{"x"}})
	if va, ok := a.(botkit.ViewAnswer); !ok || !strings.Contains(va.Errors["x"], "can't take this form") {
		t.Errorf("a view no listener owns: %+v", a)
	}
	if a := tr.Submit(t, botkittest.User, botkit.Submission{CallbackID: "deploy_form", Closed: true}); a != nil {
		t.Errorf("view_closed answered %+v", a)
	}
}

// A listener slower than the budget is answered for, in time, and the
// user's inputs stay.
func TestViewAnsweredWithinBudget(t *testing.T) {
	tr := interactiveBot(t)
	// Submit fails the test past the budget.
	a := tr.Submit(t, botkittest.User, botkit.Submission{CallbackID: "slow_form", Inputs: []string{"what"}})
	if va, ok := a.(botkit.ViewAnswer); !ok || !strings.Contains(va.Errors["what"], "took me too long") {
		t.Errorf("answer = %+v", a)
	}
}

func TestOptionsAndShortcutsAndEvents(t *testing.T) {
	tr := interactiveBot(t)
	if got := tr.Options(t, botkittest.User, "pick_app", "ap"); !cmp.Equal(got, []botkit.Choice{{Text: "api", Value: "api"}, {Text: "app-store", Value: "app-store"}}) {
		t.Errorf("options = %+v", got)
	}
	tr.Shortcut(t, botkittest.User, "new_deploy", nil)
	if views := tr.Views(); len(views) != 1 || views[0].Modal.CallbackID != "deploy_form" {
		t.Errorf("the shortcut opened %+v", views)
	}
	got := tr.SendEvent(t, "reaction_added", map[string]any{"user": "U1", "channel": "C1", "reaction": "tada"})
	if len(got) != 1 || got[0].Text != "saw a reaction_added" {
		t.Errorf("reaction_added: %+v", got)
	}
	if got := tr.SendEvent(t, "reaction_added", map[string]any{"user": "U2", "bot_id": "B2"}); len(got) != 0 {
		t.Errorf("a bot's event ran: %+v", got)
	}
	if got := tr.SendEvent(t, "channel_created", map[string]any{"channel": map[string]any{"id": "C9"}}); len(got) != 0 {
		t.Errorf("an event with no listener: %+v", got)
	}
}

// The same event delivered twice runs once.
func TestEventRetriedRunsOnce(t *testing.T) {
	tr := botkittest.New(t)
	var runs atomic.Int32
	tr.Bot().Event("member_joined_channel", func(context.Context, *botkit.Request) error {
		runs.Add(1)
		return nil
	})
	ev := botkit.Event{Kind: botkit.KindEvent, ID: "Ev1", User: "U1", Raw: &botkit.RawEvent{Type: "member_joined_channel", JSON: []byte(`{}`)}}
	tr.Send(t, ev)
	tr.Send(t, ev)
	if n := runs.Load(); n != 1 {
		t.Errorf("ran %d times, want 1", n)
	}
}

// The home tab lists what each user may run, then the bot's own blocks.
func TestHome(t *testing.T) {
	tr := interactiveBot(t)
	home := botkittest.BlockTexts(tr.OpenHome(t, "U0ANY").Blocks.BlockSet)
	if len(home) != 3 || home[0] != "ops" || !strings.Contains(home[1], "`deploy &lt;app&gt;") ||
		!strings.Contains(home[1], "Slash commands: `/deploy`, `/loud`, `/ops`") || home[2] != "Your deploys: none" {
		t.Errorf("home = %q", home)
	}
	deny := botkittest.New(t)
	deny.Bot().Command("secret", reply("x"), botkit.Describe("only admins"))
	if err := deny.Apply(botkit.Settings{Access: botkit.AccessConfig{Default: botkit.PolicyDeny}}); err != nil {
		t.Fatal(err)
	}
	if got := botkittest.BlockTexts(deny.OpenHome(t, "U0ANY").Blocks.BlockSet); len(got) != 2 || strings.Contains(got[1], "secret") {
		t.Errorf("a user who may run nothing sees %q", got)
	}
}

func TestListenerRegistration(t *testing.T) {
	for _, tt := range []struct {
		name string
		reg  func(b *botkit.Bot)
		want string
	}{
		{"duplicate action", func(b *botkit.Bot) { b.Action("a", nopHandler); b.Action("a", nopHandler) }, `action "a" registered twice`},
		{"confirm prefix", func(b *botkit.Bot) { b.Action(botkit.ConfirmActionID+"_x", nopHandler) }, "botkit's own"},
		{"empty id", func(b *botkit.Bot) { b.View("", nopHandler) }, "want 1 to 255 characters"},
		{"mention event", func(b *botkit.Bot) { b.Event("app_mention", nopHandler) }, "register those with Command"},
		{"home event", func(b *botkit.Bot) { b.Event("app_home_opened", nopHandler) }, "add blocks with Home"},
		{"bad slash", func(b *botkit.Bot) { b.Slash("deploy") }, "want / and 1 to 23"},
		{"long slash", func(b *botkit.Bot) { b.Slash("/" + strings.Repeat("x", 24)) }, "want / and 1 to 23"},
		{"upper-case slash", func(b *botkit.Bot) { b.Slash("/Deploy") }, "want / and 1 to 23"},
		{"duplicate slash", func(b *botkit.Bot) { b.Slash("/x"); b.Slash("/x") }, "registered twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if v == nil || !strings.Contains(fmt.Sprint(v), tt.want) {
					t.Errorf("panic %v, want %q", v, tt.want)
				}
			}()
			tt.reg(botkit.New("t"))
		})
	}
	b := botkit.New("t")
	b.Action("approve", nopHandler)
	if err := b.CheckSettings(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Action: "nope", Users: []string{"U1"}}}}}); err == nil || !strings.Contains(err.Error(), `the bot has no action "nope"`) {
		t.Errorf("a rule on an unknown action: %v", err)
	}
	if err := b.CheckSettings(botkit.Settings{Access: botkit.AccessConfig{Rules: []botkit.Rule{{Action: "approve", Command: "x"}}}}); err == nil || !strings.Contains(err.Error(), "names exactly one") {
		t.Errorf("a rule naming two targets: %v", err)
	}
}

func nopHandler(context.Context, *botkit.Request) error { return nil }
