package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
		"SLACK_API_URL="+slack.APIURL(), "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_ENV=dev", "BOT_CONFIG="+cfgFile, "BOT_CONFIG_POLL=0")
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
	if msgs[0].Text != "Deploying `api` `v2` to dev (`api:2`, was `v1`)…" || msgs[0].ThreadTS == "" {
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

// TestConsoleWithoutAWS is `make run BOT=ecs` on a laptop without AWS
// credentials: the bot starts, and a command that needs AWS answers one
// clear line quickly instead of hanging.
func TestConsoleWithoutAWS(t *testing.T) {
	bin := buildBin(t)
	home := t.TempDir()
	cmd := exec.Command(bin)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "BOT_HTTP_ADDR=127.0.0.1:0", "HOME="+home, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE="+home+"/none", "AWS_SHARED_CREDENTIALS_FILE="+home+"/none")
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
	want := "ecs> status api\n  ↳ I have no AWS credentials for ECS DescribeServices (locally: AWS_PROFILE or AWS_ACCESS_KEY_ID; in a pod: IRSA on the ServiceAccount).\n" +
		"ecs> status billing\n  ↳ `billing` is not a service I manage in dev (I manage `api`, `worker`).\n"
	if stdout.String() != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout.String(), want)
	}
}
