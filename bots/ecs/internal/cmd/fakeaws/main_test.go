package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/bots/ecs/internal/ecsfake"
)

// bot builds bin/ecs into a temp dir.
func bot(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the bot")
	}
	bin := filepath.Join(t.TempDir(), "ecs")
	if out, err := exec.Command("go", "build", "-o", bin, "../../..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// environ is this process's environment for the bot, as `make run` would
// give it: the shell's (with AWS settings the fake must override), the
// shipped config, a quick poll.
func environ(t *testing.T, extra ...string) []string {
	t.Helper()
	cfg, err := filepath.Abs("../../../config/local.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOT_") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+t.TempDir(), "BOT_CONFIG="+cfg, "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_CFG_POLL_INTERVAL=20ms",
		"BOT_STATE_DIR="+t.TempDir(),
		"AWS_PROFILE=someone", "AWS_ACCESS_KEY_ID=AKIAREALLOOKINGKEY00", "AWS_ENDPOINT_URL=https://ecs.eu-west-1.amazonaws.com")
	return append(env, extra...)
}

// TestEveryCommand is `make run BOT=ecs` with a script: the fake starts,
// says so, serves the sample, and every command of the shipped config
// works against it.
func TestEveryCommand(t *testing.T) {
	bin := bot(t)
	script := []string{
		"services", "services in prd", "status api", "tags api", "tags worker",
		"deploy api v2", "deploy api v3-bad", "rollback api", "scale worker 3", "deploy api v2 to prd",
	}
	var stdout, stderr strings.Builder
	code := run(t.Context(), []string{"--", bin}, strings.NewReader(strings.Join(script, "\n")+"\n"), &stdout, &stderr, environ(t))
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, stderr.String())
	}
	out, log := stdout.String(), stderr.String()
	for _, want := range []string{
		"ecs> services\n  ↳ *Services in dev* (cluster `botfleet-dev`):\n    • `api` 2/2 running, 0 pending · `v1`\n    • `legacy` 1/1 running, 0 pending · `1.27` · _not managed by me_\n    • `worker` 1/1 running, 0 pending · `w7`\n",
		"ecs> services in prd\n  ↳ *Services in prd* (cluster `botfleet-prd`):\n    • `api` 3/3 running, 0 pending · `v1`\n",
		"ecs> status api\n  ↳ *api* in dev (cluster `botfleet-dev`): 2/2 running, 0 pending\n    *Deployments*\n    • PRIMARY `api:1` `v1`: COMPLETED, 2/2 running, 0 pending, 0 failed (ECS deployment ecs-svc/0000000000000000001 completed.)\n",
		"ecs> tags worker\n  ↳ *Newest tags of `botfleet/worker`* (ECR, for worker in dev):\n    • `w8` pushed 2026-03-01 12:00 UTC\n    • `w7` pushed 2026-03-01 12:00 UTC ← running\n",
		"  ↳ ✅ `api` in dev runs `api:2` (took ",
		"  ↳ ❌ The deploy of `api` in dev failed (ECS deployment circuit breaker: tasks failed to start.) and ECS rolled back to `api:2`",
		"ecs> rollback api\n  ↳ Rolling back `api` in dev to `api:1` (from `api:2`)…\n",
		"  ↳ ✅ `api` in dev runs `api:1` (took ",
		"ecs> scale worker 3\n  ↳ Scaled `worker` in dev from 1 to 3 tasks.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the transcript lacks:\n%s", want)
		}
	}
	// prd's access rule holds: the console's user is in no group.
	if _, prd, _ := strings.Cut(out, "ecs> deploy api v2 to prd\n"); prd == "" || strings.Contains(prd, "Deploying") {
		t.Errorf("deploy to prd: %q", prd)
	}
	if t.Failed() {
		t.Logf("transcript:\n%s", out)
	}
	for _, want := range []string{" FAKE AWS: ECS, ECR and STS are a local fake on http://127.0.0.1:", "AWS IS FAKE"} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr does not announce the fake (%q):\n%s", want, log)
		}
	}
}

// TestServeAlone: without a command it serves until stopped and prints
// how to run the bot against it, which works as printed.
func TestServeAlone(t *testing.T) {
	bin := bot(t)
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var stderr strings.Builder
	exited := make(chan int, 1)
	go func() {
		exited <- run(ctx, []string{"-addr", "127.0.0.1:0"}, strings.NewReader(""), pw, &stderr, environ(t))
		pw.Close()
	}()
	var line string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "  cd bots/ecs && env ") {
			line = sc.Text()
			break
		}
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`^  cd bots/ecs && env (.*) go run \.$`).FindStringSubmatch(line)
	if m == nil {
		cancel()
		t.Fatalf("no command printed; stderr:\n%s", stderr.String())
	}
	vars := strings.Fields(m[1])
	if !strings.Contains(m[1], "AWS_ENDPOINT_URL=http://127.0.0.1:") || !strings.Contains(m[1], "BOT_ENV=local") {
		t.Errorf("printed variables: %q", vars)
	}

	cmd := exec.Command(bin)
	cmd.Dir = "../../.." // where `cd bots/ecs` goes
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BOT_") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(append(env, "BOT_HTTP_ADDR=127.0.0.1:0", "BOT_STATE_DIR="+t.TempDir()), vars...)
	cmd.Stdin = strings.NewReader("scale api 3\n")
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "Scaled `api` in dev from 2 to 3 tasks.") {
		t.Errorf("the bot as printed: %v\n%s", err, out)
	}

	cancel()
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit code %d after a stop", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop")
	}
}

// TestOnlyLocal: with BOT_ENV dev or prd, it serves nothing and runs
// nothing; and a non-loopback address is refused.
func TestOnlyLocal(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	for _, env := range []string{"dev", "prd"} {
		var stderr strings.Builder
		code := run(t.Context(), []string{"--", "touch", marker}, strings.NewReader(""), io.Discard, &stderr, []string{"BOT_ENV=" + env})
		if code != 2 || !strings.Contains(stderr.String(), "the fake AWS is only for BOT_ENV=local") {
			t.Errorf("BOT_ENV=%s: exit code %d, %q", env, code, stderr.String())
		}
	}
	var stderr strings.Builder
	if code := run(t.Context(), []string{"-addr", "0.0.0.0:0", "--", "touch", marker}, strings.NewReader(""), io.Discard, &stderr, nil); code != 1 ||
		!strings.Contains(stderr.String(), "not a loopback address") {
		t.Errorf("-addr 0.0.0.0:0: exit code %d, %q", code, stderr.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran")
	}
}

// TestBotEnvStateDir: the bot is pointed at make run's state directory
// (its jobs need one) unless the shell names one.
func TestBotEnvStateDir(t *testing.T) {
	f := ecsfake.New(t)
	local, err := filepath.Abs(filepath.Join("..", "..", ".local", "ecs", "state"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		environ []string
		want    string
	}{
		{nil, "BOT_STATE_DIR=" + local},
		{[]string{"BOT_STATE_DIR=/elsewhere"}, ""},
	}
	for _, tt := range tests {
		var got string
		for _, kv := range botEnv(f, t.TempDir(), tt.environ) {
			if strings.HasPrefix(kv, "BOT_STATE_DIR=") {
				got = kv
			}
		}
		if got != tt.want {
			t.Errorf("environ %q: %q, want %q", tt.environ, got, tt.want)
		}
	}
}
