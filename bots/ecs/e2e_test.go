package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/ecs/internal/ecsfake"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// buildBin builds bin/ecs into a temp dir once per test.
func buildBin(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "ecs")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestEndToEnd runs bin/ecs as in a pod: Socket Mode to the fake Slack, the
// SDK to the fake AWS through AWS_ENDPOINT_URL, a config file, SIGTERM.
func TestEndToEnd(t *testing.T) {
	bin := buildBin(t)
	w := newWorld(t, testConfig()) // sets the AWS environment for the child too
	cfgFile := filepath.Join(t.TempDir(), "dev.yaml")
	os.WriteFile(cfgFile, []byte(`default_env: dev
environments:
  - name: dev
    cluster: dev-cluster
    services:
      - {name: api, container: app, repository: botfleet/api}
poll_interval: 20ms
`), 0o644)

	slack := slacktest.New(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+slacktest.BotToken, "SLACK_APP_TOKEN="+slacktest.AppToken,
		"SLACK_API_URL="+slack.APIURL(), "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=local", "BOT_CONFIG="+cfgFile, "BOT_CONFIG_POLL=0",
		"BOT_STATE_DIR="+t.TempDir())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()
	slack.WaitConnected(t)

	slack.Mention("U1", "C1", "deploy api v2")
	var result slacktest.Message
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.postMessage" && strings.HasPrefix(m.Text, "✅") {
				result = m
				return true
			}
		}
		return false
	})
	msgs := slack.Messages()
	if msgs[0].Text != "Deploying `api` `v2` (`"+shortDigest(w.fake.ImageDigest("botfleet/api", "v2"))+"`) to dev (`api:2`, was `v1`)…" || msgs[0].ThreadTS == "" {
		t.Errorf("first message = %+v", msgs[0])
	}
	updates := 0
	for _, m := range msgs {
		if m.Method == "chat.update" && m.TS == msgs[0].TS {
			updates++
		}
	}
	if updates == 0 || !strings.HasPrefix(result.Text, "✅ `api` in dev runs `api:2`") || result.ThreadTS != msgs[0].ThreadTS {
		t.Errorf("%d updates, result %+v", updates, result)
	}
	if td, _ := w.fake.ServiceTaskDef("dev-cluster", "api"); !strings.HasSuffix(td, "/api:2") {
		t.Errorf("service runs %s", td)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("ecs did not exit within 15s of SIGTERM")
	}
	if log := stderr.String(); strings.Contains(log, "fake-secret") || strings.Contains(log, slacktest.BotToken) {
		t.Error("a secret was logged")
	}
}

// TestConsoleWithoutAWS is `make run BOT=ecs AWS=real` on a laptop without
// working AWS credentials: the bot starts, and a command that needs AWS
// answers one clear line quickly instead of hanging; the SDK's own warnings
// go to the bot's log, not to stderr unstructured.
func TestConsoleWithoutAWS(t *testing.T) {
	bin := buildBin(t)
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut { // the IMDSv2 token: refused, so the SDK falls back to IMDSv1
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
	}))
	defer imds.Close()
	noCredentials := "I have no AWS credentials for ECS DescribeServices (locally: AWS_PROFILE or AWS_ACCESS_KEY_ID; in a pod: IRSA on the ServiceAccount)."
	tests := []struct {
		name string
		env  []string
		want string // the answer to status api
		log  string // a line the log must have
	}{
		{"no credentials", []string{"AWS_EC2_METADATA_DISABLED=true"}, noCredentials, ""},
		{"no such profile", []string{"AWS_EC2_METADATA_DISABLED=true", "AWS_PROFILE=nosuch"},
			"There is no AWS profile `nosuch` (AWS_PROFILE) in {home}/none or {home}/none: `aws configure list-profiles` lists yours, or unset AWS_PROFILE.", ""},
		{"instance metadata without IMDSv2", []string{"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imds.URL}, noCredentials,
			`level=WARN msg="falling back to IMDSv1: operation error ec2imds: getToken, http response error StatusCode: 403`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			cmd := exec.Command(bin)
			var env []string
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "AWS_") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(append(env, "BOT_HTTP_ADDR=127.0.0.1:0", "HOME="+home, "BOT_CFG_CALL_TIMEOUT=5s", "BOT_STATE_DIR="+t.TempDir(),
				"AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none"), tt.env...)
			cmd.Stdin = strings.NewReader("status api\nstatus billing\n")
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatalf("ecs: %v\n%s", err, stderr.String())
			}
			if d := time.Since(start); d > 15*time.Second {
				t.Errorf("took %s", d)
			}
			want := "ecs> status api\n  ↳ " + strings.ReplaceAll(tt.want, "{home}", home) + "\n" +
				"ecs> status billing\n  ↳ `billing` is not a service I manage in dev (I manage `api`, `worker`).\n"
			if stdout.String() != want {
				t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
			}
			log := stderr.String()
			if tt.log != "" && !strings.Contains(log, tt.log) {
				t.Errorf("the log lacks %q:\n%s", tt.log, log)
			}
			for _, line := range strings.Split(log, "\n") {
				if strings.HasPrefix(line, "SDK ") || strings.Contains(line, "loading AWS config: loading AWS config") {
					t.Errorf("stderr has %q", line)
				}
			}
		})
	}
}

// TestRefusesFakeOutsideLocal: bin/ecs in a pod's environment pointed at
// the fake AWS exits at once, saying why, and never connects to Slack.
func TestRefusesFakeOutsideLocal(t *testing.T) {
	bin := buildBin(t)
	f := ecsfake.New(t)
	f.Env(t)
	slack := slacktest.New(t)
	for _, env := range []string{"dev", "prd"} {
		// A bot that does not refuse connects and runs until killed.
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin)
		cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+slacktest.BotToken, "SLACK_APP_TOKEN="+slacktest.AppToken,
			"SLACK_API_URL="+slack.APIURL(), "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV="+env, "BOT_CONFIG=config/local.yaml", "BOT_CONFIG_POLL=0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 {
			t.Errorf("BOT_ENV=%s with the fake: %v, want exit code 1", env, err)
		}
		if want := "the fake is only for BOT_ENV=local"; !strings.Contains(stderr.String(), want) {
			t.Errorf("BOT_ENV=%s: stderr lacks %q:\n%s", env, want, stderr.String())
		}
	}
	if n := len(slack.Messages()); n != 0 {
		t.Errorf("%d Slack messages from a bot that refused to start", n)
	}
	if n := len(f.Calls("")); n != 0 {
		t.Errorf("%d calls reached the fake AWS", n)
	}
}

// TestKilledDuringDeploy: bin/ecs is killed with SIGKILL while it follows a
// rollout. The next bin/ecs on the same state directory records the deploy
// as interrupted and edits its progress message to say so; it never runs
// the deploy again, and the service is free for the next change.
func TestKilledDuringDeploy(t *testing.T) {
	bin := buildBin(t)
	w := newWorld(t, testConfig())
	cfgFile := filepath.Join(t.TempDir(), "dev.yaml")
	os.WriteFile(cfgFile, []byte(`default_env: dev
environments:
  - name: dev
    cluster: dev-cluster
    services:
      - {name: api, container: app, repository: botfleet/api}
poll_interval: 20ms
`), 0o644)
	stateDir := t.TempDir()
	slack := slacktest.New(t)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "SLACK_BOT_TOKEN="+slacktest.BotToken, "SLACK_APP_TOKEN="+slacktest.AppToken,
			"SLACK_API_URL="+slack.APIURL(), "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=local", "BOT_CONFIG="+cfgFile, "BOT_CONFIG_POLL=0",
			"BOT_STATE_DIR="+stateDir)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	first := start()
	slack.WaitConnected(t)
	slack.Mention("U1", "C1", "deploy api v2")
	var progress slacktest.Message
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.postMessage" && strings.HasPrefix(m.Text, "Deploying `api` `v2` (") {
				progress = m
				return true
			}
		}
		return false
	})
	release := w.fake.Hold(ecsfake.ECS + "DescribeServices") // the rollout stops moving
	time.Sleep(100 * time.Millisecond)
	first.Process.Signal(syscall.SIGKILL)
	first.Wait()
	release()

	start()
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if m.Method == "chat.update" && m.TS == progress.TS && strings.HasPrefix(m.Text, "⚠️ Job #1, <@U1> deploying `v2` to `api` in dev, was interrupted: the process running it (") {
				return true
			}
		}
		return false
	})
	if n := w.calls(ecsfake.ECS + "RegisterTaskDefinition"); n != 1 {
		t.Errorf("%d task definitions registered, want 1: the deploy ran again", n)
	}
	slack.Mention("U2", "C1", "scale api 3")
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if strings.HasPrefix(m.Text, "Scaled `api` in dev from 2 to 3 tasks.") {
				return true
			}
		}
		return false
	})
	slack.Mention("U2", "C1", "history")
	slack.WaitFor(t, 20*time.Second, func() bool {
		for _, m := range slack.Messages() {
			if strings.Contains(m.Text, "• #1 ⚠️ interrupted: <@U1> deploying `v2` to `api` in dev") && strings.Contains(m.Text, ": <@U2> scaling `api` in dev to 3 tasks") { // it ends just after its reply
				return true
			}
		}
		return false
	})
}
