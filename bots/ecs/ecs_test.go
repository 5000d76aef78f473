package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/bots/ecs/internal/ecsfake"
	"github.com/botfleet/botfleet/pkg/awsx"
	"github.com/botfleet/botfleet/pkg/awsx/awsfake"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/config"
	"github.com/botfleet/botfleet/pkg/golden"
)

const (
	apiRepo = ecsfake.Registry + "/botfleet/api"
	prdRole = "arn:aws:iam::123456789012:role/botfleet-ecs-prd"
)

func testConfig() Config {
	var c Config
	c.SetDefaults()
	c.PollInterval = 5 * time.Millisecond
	c.RolloutTimeout = 10 * time.Second
	c.CallTimeout = 5 * time.Second
	c.DefaultEnv = "dev"
	c.Environments = []Environment{
		{Name: "dev", Cluster: "dev-cluster", Services: []Service{
			{Name: "api", Container: "app", Repository: "botfleet/api", MaxCount: 10},
			{Name: "worker", Container: "worker", Repository: "botfleet/worker"},
		}},
		{Name: "prd", Cluster: "prd-cluster", RoleARN: prdRole, Services: []Service{
			{Name: "api", Container: "app", Repository: "botfleet/api"},
		}},
	}
	return c
}

// world is a fake AWS with two clusters and a bot pointed at it.
type world struct {
	fake     *ecsfake.Fake
	tr       *botkittest.Transport
	stateDir string // BOT_STATE_DIR, shared by every instance
}

func newWorld(t *testing.T, cfg Config) *world {
	t.Helper()
	f := ecsfake.New(t)
	f.Env(t)
	td := f.Register("api", "app", apiRepo+":v1", map[string]any{
		"environment":  []any{map[string]any{"name": "MODE", "value": "web"}},
		"portMappings": []any{map[string]any{"containerPort": 8080, "protocol": "tcp"}},
	})
	f.AddService("dev-cluster", "api", td, 2)
	f.AddService("prd-cluster", "api", td, 3)
	f.AddService("dev-cluster", "worker", f.Register("worker", "worker", ecsfake.Registry+"/botfleet/worker:w7", nil), 1)
	f.AddService("dev-cluster", "legacy", f.Register("legacy", "main", "nginx:1.27", nil), 1)
	for _, tag := range []string{"v1", "v2", "v3-bad"} {
		f.PushImage("botfleet/api", tag)
	}
	f.Break(apiRepo + ":v3-bad")

	w := &world{fake: f, stateDir: t.TempDir()}
	w.tr = w.instance(t, cfg)
	return w
}

// instance starts another instance of the bot on w's fake AWS, with cfg:
// another pod, sharing w's state directory.
func (w *world) instance(t *testing.T, cfg Config) *botkittest.Transport {
	t.Helper()
	tr := botkittest.New(t, botkittest.WithName("ecs"))
	if err := testSetup(t.Context(), tr.Bot(), botkit.NewLive(&cfg), botkit.Env{Name: botkit.EnvLocal, StateDir: w.stateDir}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Apply(cfg.Settings); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (w *world) calls(op string) int { return len(w.fake.Calls(op)) }

// lastPost returns the text of the last message posted in replies, not
// counting edits: the job's last edit of its progress message comes after
// the command's result.
func lastPost(replies []botkittest.Reply) string {
	for i := len(replies) - 1; i >= 0; i-- {
		if !replies[i].Update {
			return replies[i].Text
		}
	}
	return ""
}

// cancelButton returns the value of the jobs' Cancel button in r, or "".
func cancelButton(r botkittest.Reply) string {
	for _, b := range r.Blocks {
		if a, ok := b.(*slack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if btn, ok := e.(*slack.ButtonBlockElement); ok && btn.ActionID == jobs.CancelActionID {
					return btn.Value
				}
			}
		}
	}
	return ""
}

func TestServices(t *testing.T) {
	w := newWorld(t, testConfig())
	got := lastPost(w.tr.Say(t, "services"))
	want := "*Services in dev* (cluster `dev-cluster`):" +
		"\n• `api` 2/2 running, 0 pending · `v1`" +
		"\n• `legacy` 1/1 running, 0 pending · `1.27` · _not managed by me_" +
		"\n• `worker` 1/1 running, 0 pending · `w7`"
	if got != want {
		t.Errorf("services:\n%s\nwant:\n%s", got, want)
	}
	for _, c := range w.fake.Calls("") {
		if c.AccessKey != awsfake.AccessKey {
			t.Errorf("%s signed with %q, want the test key", c.Target, c.AccessKey)
		}
	}
	if got := lastPost(w.tr.Say(t, "services in qa")); got != "I don't know the environment `qa`; I know `dev`, `prd`." {
		t.Errorf("unknown env: %q", got)
	}
}

func TestDeployCompletes(t *testing.T) {
	w := newWorld(t, testConfig())
	digest := w.fake.ImageDigest("botfleet/api", "v2")
	replies := w.tr.Say(t, "deploy api v2")
	first := replies[0]
	if first.Text != "Deploying `api` `v2` (`"+shortDigest(digest)+"`) to dev (`api:2`, was `v1`)…" || cancelButton(first) != "1" {
		t.Errorf("first reply = %q, with Cancel button %q", first.Text, cancelButton(first))
	}
	var posts, updates []string
	for _, r := range replies[1:] {
		switch {
		case !r.Update:
			posts = append(posts, r.Text)
		case r.TS != first.TS:
			t.Errorf("reply %q is an edit of another message", r.Text)
		default:
			updates = append(updates, r.Text)
		}
	}
	if len(posts) != 1 || !strings.HasPrefix(posts[0], "✅ `api` in dev runs `api:2` (took ") {
		t.Errorf("posts after the progress message = %q, want one saying it is done", posts)
	}
	n := len(updates)
	if n < 3 || !strings.Contains(updates[0], ": 0/2 running, 2 pending, 0 failed") || !strings.HasSuffix(updates[n-2], ": done in 0s.") ||
		updates[n-1] != updates[n-2]+"\n✅ Job #1 succeeded in 0s." {
		t.Errorf("progress = %q, want pending tasks, then done, then the job's end", updates)
	}
	if last := replies[len(replies)-1]; cancelButton(last) != "" {
		t.Errorf("the progress message keeps its Cancel button: %+v", last)
	}

	td, desired := w.fake.ServiceTaskDef("dev-cluster", "api")
	if !strings.HasSuffix(td, ":task-definition/api:2") || desired != 2 {
		t.Fatalf("service runs %s ×%d, want api:2 ×2", td, desired)
	}
	// The new revision differs from the old only in the image, which it
	// names by the digest v2 named when asked.
	old, cur := w.fake.TaskDef(strings.Replace(td, ":2", ":1", 1)), w.fake.TaskDef(td)
	oc, nc := old["containerDefinitions"].([]any)[0].(map[string]any), cur["containerDefinitions"].([]any)[0].(map[string]any)
	if nc["image"] != apiRepo+"@"+digest {
		t.Errorf("image = %v, want %s", nc["image"], apiRepo+"@"+digest)
	}
	for _, k := range []string{"environment", "portMappings", "essential", "name"} {
		if a, b := toJSON(t, oc[k]), toJSON(t, nc[k]); a != b {
			t.Errorf("container %s changed: %s -> %s", k, a, b)
		}
	}
	for _, k := range []string{"taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory", "requiresCompatibilities"} {
		if a, b := toJSON(t, old[k]), toJSON(t, cur[k]); a != b {
			t.Errorf("%s changed: %s -> %s", k, a, b)
		}
	}
	// It keeps the old revision's tags, and the image's tag in one more.
	if body, want := w.fake.Calls(ecsfake.ECS + "RegisterTaskDefinition")[0].Body,
		`"tags":[{"key":"team","value":"platform"},{"key":"botfleet:image-tag:app","value":"v2@`+digest+`"}]`; !strings.Contains(body, want) {
		t.Errorf("the new revision's tags: %s, want %s", body, want)
	}
	// People still see the tag.
	if got := lastPost(w.tr.Say(t, "services")); !strings.Contains(got, "\n• `api` 2/2 running, 0 pending · `v2`\n") {
		t.Errorf("services after the deploy: %q", got)
	}
	if got := lastPost(w.tr.Say(t, "status api")); !strings.Contains(got, "\n• PRIMARY `api:2` `v2`: COMPLETED") {
		t.Errorf("status after the deploy: %q", got)
	}
	if got := lastPost(w.tr.Say(t, "tags api")); !strings.Contains(got, "• `v2` pushed 2026-03-01 12:00 UTC ← running") || strings.Count(got, "running") != 1 {
		t.Errorf("tags after the deploy: %q", got)
	}

	// The same image again changes nothing.
	if got := lastPost(w.tr.Say(t, "deploy api v2")); got != "`api` in dev already runs `v2` (`"+shortDigest(digest)+"`, `api:2`)." {
		t.Errorf("redeploy: %q", got)
	}
	if n := w.calls(ecsfake.ECS + "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d registrations, want 1", n)
	}
}

func TestDeployFailsAndIsRolledBack(t *testing.T) {
	w := newWorld(t, testConfig())
	replies := w.tr.Say(t, "deploy api v3-bad")
	last := replies[len(replies)-1].Text
	want := "❌ The deploy of `api` in dev failed (ECS deployment circuit breaker: tasks failed to start.) and ECS rolled back to `api:1` (took "
	if !strings.HasPrefix(last, want) || !strings.Contains(last, "Last stopped task: ") || !strings.HasSuffix(last, "`api:2`: Essential container in task exited.") {
		t.Errorf("result:\n%s\nwant it to start with:\n%s\nand name the stopped task's reason", last, want)
	}
	if !slices.ContainsFunc(replies, func(r botkittest.Reply) bool { return r.Update && strings.Contains(r.Text, "Rolling back to `api:1`") }) {
		t.Errorf("no progress message showed the rollback: %q", botkittest.Texts(replies))
	}
	if td, _ := w.fake.ServiceTaskDef("dev-cluster", "api"); !strings.HasSuffix(td, "/api:1") {
		t.Errorf("service runs %s after the rollback, want api:1", td)
	}
	got := lastPost(w.tr.Say(t, "status api"))
	for _, want := range []string{
		"*api* in dev (cluster `dev-cluster`): 2/2 running, 0 pending",
		"\n• PRIMARY `api:1` `v1`: COMPLETED, 2/2 running",
		"deployment failed: tasks failed to start.",
		"*Stopped tasks*\n• ", "`api:2`: Essential container in task exited",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("status lacks %q:\n%s", want, got)
		}
	}
}

func TestDeployMissingTag(t *testing.T) {
	w := newWorld(t, testConfig())
	if got := lastPost(w.tr.Say(t, "deploy api v9")); got != "ECR repository `botfleet/api` has no tag `v9`; see `tags api`." {
		t.Errorf("got %q", got)
	}
	if got := lastPost(w.tr.Say(t, "deploy api ../x")); got != "`../x` is not an image tag." {
		t.Errorf("got %q", got)
	}
	if n := w.calls(ecsfake.ECS+"RegisterTaskDefinition") + w.calls(ecsfake.ECS+"UpdateService"); n != 0 {
		t.Errorf("%d changes made for a missing tag", n)
	}
}

func TestAccessDenied(t *testing.T) {
	w := newWorld(t, testConfig())
	w.fake.FailAlways(ecsfake.ECS+"ListServices", awsfake.AccessDenied("ecs:ListServices"))
	got := lastPost(w.tr.Say(t, "services"))
	if got != "AWS denied ECS ListServices: User: arn:aws:sts::123456789012:assumed-role/test/bot is not authorized to perform: ecs:ListServices" {
		t.Errorf("got %q", got)
	}
	if n := w.calls(ecsfake.ECS + "ListServices"); n != 1 {
		t.Errorf("AccessDenied tried %d times, want once (not retried)", n)
	}
}

func TestThrottlingIsRetried(t *testing.T) {
	w := newWorld(t, testConfig())
	w.fake.Fail(ecsfake.ECS+"DescribeServices", 1, awsfake.Throttling())
	got := lastPost(w.tr.Say(t, "status api"))
	if !strings.HasPrefix(got, "*api* in dev (cluster `dev-cluster`): 2/2 running") {
		t.Errorf("status after a throttle: %q", got)
	}
	if n := w.calls(ecsfake.ECS + "DescribeServices"); n != 2 {
		t.Errorf("DescribeServices called %d times, want 2 (throttled, then retried)", n)
	}
}

func TestServiceNotInConfig(t *testing.T) {
	w := newWorld(t, testConfig())
	for _, say := range []string{"status legacy", "deploy legacy v1", "scale legacy 2", "rollback legacy", "tags legacy"} {
		if got := lastPost(w.tr.Say(t, say)); got != "`legacy` is not a service I manage in dev (I manage `api`, `worker`)." {
			t.Errorf("%s: %q", say, got)
		}
	}
	if got := lastPost(w.tr.Say(t, "status worker in prd")); got != "`worker` is not a service I manage in prd (I manage `api`)." {
		t.Errorf("got %q", got)
	}
	// Refused before any AWS call: the credentials were not even loaded.
	if n := len(w.fake.Calls("")); n != 0 {
		t.Errorf("%d AWS calls for services not in the config", n)
	}
}

func TestScale(t *testing.T) {
	w := newWorld(t, testConfig())
	tests := []struct{ say, want string }{
		{"scale api 11", "`api` in dev scales from 1 to 10 tasks, not 11."},
		{"scale api 0", "`api` in dev scales from 1 to 10 tasks, not 0."},
		{"scale worker 11", "`worker` in dev scales from 1 to 10 tasks, not 11."},
		{"scale api two", "`two` is not a whole number (the count of `scale &lt;service&gt; &lt;count&gt; [in &lt;env&gt;]`). See `help scale`."},
		{"scale api 2", "`api` in dev runs 2 tasks already."},
		{"scale api 4", "Scaled `api` in dev from 2 to 4 tasks."},
	}
	for _, tt := range tests {
		if got := lastPost(w.tr.Say(t, tt.say)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.say, got, tt.want)
		}
	}
	if _, desired := w.fake.ServiceTaskDef("dev-cluster", "api"); desired != 4 {
		t.Errorf("desired = %d, want 4", desired)
	}
	if n := w.calls(ecsfake.ECS + "UpdateService"); n != 1 {
		t.Errorf("%d UpdateService calls, want 1", n)
	}
}

// TestRollbackToPreviousSuccessful: revisions registered but never
// deployed, and deployments the circuit breaker rolled back, are not
// "previous".
func TestRollbackToPreviousSuccessful(t *testing.T) {
	w := newWorld(t, testConfig())
	if got := lastPost(w.tr.Say(t, "rollback api")); got != "I found no earlier successful deployment of `api` in dev with another task definition than `api:1`." {
		t.Errorf("rollback with one deployment: %q", got)
	}
	w.tr.Say(t, "deploy api v2")                             // api:2, succeeds
	w.fake.Register("api", "app", apiRepo+":v2-hotfix", nil) // api:3, never deployed
	w.tr.Say(t, "deploy api v3-bad")                         // api:4, fails; ECS rolls back to api:2
	if td, _ := w.fake.ServiceTaskDef("dev-cluster", "api"); !strings.HasSuffix(td, "/api:2") {
		t.Fatalf("before the rollback the service runs %s, want api:2", td)
	}
	replies := w.tr.Say(t, "rollback api")
	if replies[0].Text != "Rolling back `api` in dev to `api:1` (from `api:2`)…" || !strings.HasPrefix(lastPost(replies), "✅ `api` in dev runs `api:1`") {
		t.Errorf("rollback: %q", botkittest.Texts(replies))
	}
	if td, _ := w.fake.ServiceTaskDef("dev-cluster", "api"); !strings.HasSuffix(td, "/api:1") {
		t.Errorf("after the rollback the service runs %s, want api:1", td)
	}
}

func TestTags(t *testing.T) {
	w := newWorld(t, testConfig())
	got := lastPost(w.tr.Say(t, "tags api"))
	lines := strings.Split(got, "\n")
	if len(lines) != 4 || lines[0] != "*Newest tags of `botfleet/api`* (ECR, for api in dev):" ||
		!strings.HasPrefix(lines[1], "• `v3-bad` pushed 2026-03-01 ") || !strings.HasPrefix(lines[3], "• `v1` pushed") || !strings.HasSuffix(lines[3], " ← running") ||
		strings.Contains(lines[1]+lines[2], "running") {
		t.Errorf("tags:\n%s", got)
	}
}

// TestPrd: the shipped config's rules let only the platform group change
// prd, with a confirmation, and calls there assume prd's role as the user.
func TestPrd(t *testing.T) {
	cfg := loadLocal(t)
	cfg.Environments[0].Cluster, cfg.Environments[1].Cluster = "dev-cluster", "prd-cluster"
	cfg.PollInterval = 5 * time.Millisecond
	w := newWorld(t, cfg)
	w.tr.SetGroup("S0PLATFORM", "U0LEAD")

	got := lastPost(w.tr.Say(t, "scale api 5 in prd"))
	if !strings.HasPrefix(got, "You may not run this: access rule `scale env=prd` does not include you.") {
		t.Errorf("a stranger's prd scale: %q", got)
	}
	done := w.tr.SendAsync(t, botkit.Event{User: "U0LEAD", Channel: botkittest.Channel, TS: "5.1", Text: "<@UBOT> deploy api v2 to prd"})
	prompt := w.tr.WaitPrompt(t)
	w.tr.Click(t, "U0LEAD", prompt, true)
	<-done
	if got := lastPost(w.tr.Thread("5.1")); !strings.HasPrefix(got, "✅ `api` in prd runs `api:2`") {
		t.Errorf("prd deploy: %q", botkittest.Texts(w.tr.Thread("5.1")))
	}
	sessions := w.fake.Sessions()
	if len(sessions) != 1 || sessions[0].Name != "ecs@U0LEAD" || sessions[0].RoleARN != prdRole {
		t.Errorf("sessions = %+v, want one for U0LEAD in the prd role", sessions)
	}
	for _, c := range w.fake.Calls(ecsfake.ECS + "UpdateService") {
		if c.AccessKey != sessions[0].AccessKey {
			t.Errorf("UpdateService in prd signed with %s, want the assumed role's key", c.AccessKey)
		}
	}
	// dev needs no rule and no role.
	if got := lastPost(w.tr.Say(t, "scale api 3")); got != "Scaled `api` in dev from 2 to 3 tasks." {
		t.Errorf("dev scale: %q", got)
	}
}

// TestDefaultPrdIsCheckedByRules: with prd as the default environment, a
// command that names none is checked by prd's rules.
func TestDefaultPrdIsCheckedByRules(t *testing.T) {
	cfg := loadLocal(t)
	cfg.Environments[0].Cluster, cfg.Environments[1].Cluster = "dev-cluster", "prd-cluster"
	cfg.DefaultEnv = "prd"
	if err := cfg.Validate(); err != nil {
		t.Fatalf("prd as the default: %v", err)
	}
	w := newWorld(t, cfg)
	w.tr.SetGroup("S0PLATFORM", "U0LEAD")
	got := lastPost(w.tr.Say(t, "scale api 5"))
	if !strings.HasPrefix(got, "You may not run this: access rule `scale env=prd` does not include you.") {
		t.Errorf("a stranger's scale in the default prd: %q", got)
	}
	if n := w.calls(ecsfake.ECS + "UpdateService"); n != 0 {
		t.Errorf("UpdateService called %d times after a denial", n)
	}
}

func loadLocal(t *testing.T) Config {
	t.Helper()
	var cfg Config
	if _, err := config.Load(&cfg, config.Options{Path: "config/local.yaml", Required: true}); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfigValidate(t *testing.T) {
	cfg := loadLocal(t)
	if cfg.DefaultEnv != "dev" || len(cfg.Environments) != 2 || cfg.PollInterval != 5*time.Second {
		t.Errorf("local.yaml loaded as %+v", cfg)
	}
	tests := []struct {
		name, key string
		change    func(*Config)
	}{
		{"unknown default", "default_env", func(c *Config) { c.DefaultEnv = "qa" }},
		{"bad role", "environments[1].role_arn", func(c *Config) { c.Environments[1].RoleARN = "botfleet-ecs-prd" }},
		{"bounds", "environments[0].services[0].max_count", func(c *Config) { c.Environments[0].Services[0].MaxCount = -1 }},
		{"no container", "environments[0].services[1].container", func(c *Config) { c.Environments[0].Services[1].Container = "" }},
		{"zero poll", "poll_interval", func(c *Config) { c.PollInterval = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadLocal(t)
			tt.change(&c)
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "key "+tt.key+":") {
				t.Errorf("Validate = %v, want an error naming %s", err, tt.key)
			}
		})
	}
}

func TestHelpGolden(t *testing.T) {
	w := newWorld(t, testConfig())
	got := lastPost(w.tr.Say(t, "help"))
	golden.Check(t, filepath.Join("testdata", "help.golden"), got)
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFailedUpdateDeregisters: when UpdateService fails after deploy
// registered a revision, the revision is deregistered, unless the service
// deploys it after all (the change was made and its answer lost).
func TestFailedUpdateDeregisters(t *testing.T) {
	internal := &awsfake.Error{Status: 500, Code: "InternalFailure", Message: "We encountered an internal error."}
	tests := []struct {
		name        string
		fail        func(*ecsfake.Fake)
		want        string // the result's start
		deregisters bool   // tries to
		status      string // of the new revision afterwards
		runs        string // the service's task definition afterwards
	}{
		{
			name: "denied",
			fail: func(f *ecsfake.Fake) {
				f.FailAlways(ecsfake.ECS+"UpdateService", awsfake.AccessDenied("ecs:UpdateService"))
			},
			want: "AWS denied ECS UpdateService: User: arn:aws:sts::123456789012:assumed-role/test/bot is not authorized to perform: ecs:UpdateService" +
				" Nothing changed: I deregistered the new revision `api:2`.",
			deregisters: true, status: "INACTIVE", runs: "api:1",
		},
		{
			name: "denied, and so is deregistering",
			fail: func(f *ecsfake.Fake) {
				f.FailAlways(ecsfake.ECS+"UpdateService", awsfake.AccessDenied("ecs:UpdateService"))
				f.FailAlways(ecsfake.ECS+"DeregisterTaskDefinition", awsfake.AccessDenied("ecs:DeregisterTaskDefinition"))
			},
			want: "AWS denied ECS UpdateService: User: arn:aws:sts::123456789012:assumed-role/test/bot is not authorized to perform: ecs:UpdateService" +
				" The new revision `api:2` stays registered, unused: I could not deregister it (AWS denied ECS DeregisterTaskDefinition: ",
			deregisters: true, status: "ACTIVE", runs: "api:1",
		},
		{
			name:        "server error, not made",
			fail:        func(f *ecsfake.Fake) { f.Fail(ecsfake.ECS+"UpdateService", awsx.DefaultMaxAttempts, internal) },
			want:        "ECS UpdateService failed: InternalFailure: We encountered an internal error. Nothing changed: I deregistered the new revision `api:2`.",
			deregisters: true, status: "INACTIVE", runs: "api:1",
		},
		{
			name: "server error after the change",
			fail: func(f *ecsfake.Fake) { f.FailAfter(ecsfake.ECS+"UpdateService", awsx.DefaultMaxAttempts, internal) },
			want: "✅ `api` in dev runs `api:2`", status: "ACTIVE", runs: "api:2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, testConfig())
			tt.fail(w.fake)
			if got := lastPost(w.tr.Say(t, "deploy api v2")); !strings.HasPrefix(got, tt.want) {
				t.Errorf("deploy: %q, want it to start with %q", got, tt.want)
			}
			newTD := "arn:aws:ecs:eu-west-1:123456789012:task-definition/api:2"
			status := w.fake.TaskDef(newTD)["status"]
			calls := w.fake.Calls(ecsfake.ECS + "DeregisterTaskDefinition")
			if tt.deregisters && (len(calls) != 1 || calls[0].Body != `{"taskDefinition":"`+newTD+`"}`) || !tt.deregisters && len(calls) != 0 {
				t.Errorf("DeregisterTaskDefinition calls: %+v", calls)
			}
			if status != tt.status {
				t.Errorf("api:2 is %v, want %s", status, tt.status)
			}
			if td, _ := w.fake.ServiceTaskDef("dev-cluster", "api"); !strings.HasSuffix(td, "/"+tt.runs) {
				t.Errorf("service runs %s, want %s", td, tt.runs)
			}
		})
	}
}

// TestFakeOnlyLocally: pointed at the fake AWS, the bot starts only with
// BOT_ENV=local.
func TestFakeOnlyLocally(t *testing.T) {
	f := ecsfake.New(t)
	f.Env(t)
	for _, env := range []string{botkit.EnvDev, botkit.EnvPrd} {
		cfg := testConfig()
		err := testSetup(t.Context(), botkittest.New(t).Bot(), botkit.NewLive(&cfg), botkit.Env{Name: env, StateDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "the fake is only for BOT_ENV=local") {
			t.Errorf("setup in %s with the fake: %v", env, err)
		}
	}
	cfg := testConfig()
	if err := testSetup(t.Context(), botkittest.New(t).Bot(), botkit.NewLive(&cfg), botkit.Env{Name: botkit.EnvLocal, StateDir: t.TempDir()}); err != nil {
		t.Errorf("setup locally with the fake: %v", err)
	}
}

// TestWrongProfile: an AWS_PROFILE that does not exist is said to the
// user, and the cause is wrapped once.
func TestWrongProfile(t *testing.T) {
	w := newWorld(t, testConfig())
	t.Setenv("AWS_PROFILE", "nosuch")
	got := lastPost(w.tr.Say(t, "services"))
	if want := "There is no AWS profile `nosuch` (AWS_PROFILE) in " + os.Getenv("AWS_CONFIG_FILE") + " or " + os.Getenv("AWS_SHARED_CREDENTIALS_FILE") +
		": `aws configure list-profiles` lists yours, or unset AWS_PROFILE."; got != want {
		t.Errorf("services: %q\nwant:      %q", got, want)
	}
	cfg := testConfig()
	bt := &bot{live: botkit.NewLive(&cfg), aws: awsx.New(awsx.Options{})}
	_, err := bt.connect(t.Context(), &cfg, &cfg.Environments[0], "U1")
	ue, ok := botkit.AsUserError(err)
	if !ok || ue.Err == nil || ue.Err.Error() != "environment dev: loading AWS config: failed to get shared config profile, nosuch" {
		t.Errorf("connect: %#v", err)
	}
}

// testSetup is setup with a short retry backoff, so tests of throttling
// and retries take milliseconds, not seconds.
func testSetup(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
	return setupWith(awsx.Options{MaxBackoff: 5 * time.Millisecond})(ctx, b, live, env)
}
