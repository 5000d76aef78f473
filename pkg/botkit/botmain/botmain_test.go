package botmain_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botmain"
	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
	"github.com/botfleet/botfleet/pkg/config"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testConfig struct {
	botkit.Settings `yaml:",inline"`
	Greeting        string `yaml:"greeting"`
}

func (c *testConfig) SetDefaults() { c.Greeting = "hi" }

func (c *testConfig) Validate() error {
	if c.Greeting == "" {
		return botkit.Userf("key greeting: must not be empty")
	}
	return nil
}

func setup(_ context.Context, b *botkit.Bot, live *botkit.Live[testConfig], env botkit.Env) error {
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	})
	b.Command("greet", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, live.Load().Greeting+" from "+env.Name)
		return err
	})
	b.Command("slow", func(ctx context.Context, req *botkit.Request) error {
		select {
		case slowStarted <- struct{}{}:
		default:
		}
		time.Sleep(200 * time.Millisecond)
		_, err := req.Reply(ctx, "slow done")
		return err
	})
	b.Webhook("/hooks/echo", botkit.Bearer(env.Secret("TESTBOT_HOOK_TOKEN")), func(ctx context.Context, req *botkit.Request) error {
		_, err := req.ReplyMessage(ctx, botkit.Message{Channel: "hooks", Text: "hook: " + string(req.Delivery().Body)})
		return err
	})
	return nil
}

// slowStarted tells a test that the slow command is running.
var slowStarted = make(chan struct{}, 1)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, stdin io.Reader, environ []string, args ...string) result {
	t.Helper()
	var out, errb syncBuffer
	code := botmain.Run(context.Background(), "testbot", setup, botmain.Options{
		Args: args, Stdin: stdin, Stdout: &out, Stderr: &errb,
		Environ: append([]string{"BOT_HTTP_ADDR=127.0.0.1:0"}, environ...),
	})
	return result{code, out.String(), errb.String()}
}

func TestFlagsAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("greeting: hey\n"), 0o600)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("greting: hey\n"), 0o600)
	empty := filepath.Join(dir, "empty.yaml")
	os.WriteFile(empty, []byte("greeting: ''\n"), 0o600)
	badRule := filepath.Join(dir, "rule.yaml")
	os.WriteFile(badRule, []byte("access:\n  rules:\n    - command: pnig\n      users: [U1]\n"), 0o600)
	goodRule := filepath.Join(dir, "goodrule.yaml")
	os.WriteFile(goodRule, []byte("access:\n  default: deny\n  rules:\n    - command: ping\n      users: [U0LOCAL]\n"), 0o600)
	wrongType := filepath.Join(dir, "type.yaml")
	os.WriteFile(wrongType, []byte("# hello's greeting\ngreeting:\n  - hi\n  - there\n"), 0o600)
	quote := filepath.Join(dir, "quote.yaml")
	os.WriteFile(quote, []byte("greeting: \"hi\n\n\naccess: {}\n"), 0o600)
	cased := filepath.Join(dir, "case.yaml")
	os.WriteFile(cased, []byte("GREETING: prd\ngreeting: dev\n"), 0o600)
	tokenKey := filepath.Join(dir, "tokenkey.yaml")
	os.WriteFile(tokenKey, []byte("greeting: hi\nxoxb-12345-fakesecretvalue: 1\n"), 0o600)
	goodApprove := filepath.Join(dir, "approve.yaml")
	os.WriteFile(goodApprove, []byte("access:\n  approval_channel: C0APPROVERS\n  rules:\n    - command: ping\n      approve: {groups: [S0LEADS], count: 2, timeout: 45m}\n"), 0o600)
	badApprove := filepath.Join(dir, "badapprove.yaml")
	os.WriteFile(badApprove, []byte("access:\n  rules:\n    - command: ping\n      approve:\n        groups: [leads]\n        count: 0\n        timeout: 48h\n"), 0o600)
	badTimeout := filepath.Join(dir, "badtimeout.yaml")
	os.WriteFile(badTimeout, []byte("access:\n  rules:\n    - command: ping\n      approve: {groups: [S0LEADS], count: 1, timeout: soon}\n"), 0o600)
	typoApprove := filepath.Join(dir, "typoapprove.yaml")
	os.WriteFile(typoApprove, []byte("access:\n  rules:\n    - command: ping\n      approve: {group: [S0LEADS], count: 1}\n"), 0o600)
	big := filepath.Join(dir, "big.yaml")
	bigContent := "greeting: hi\n#" + strings.Repeat("x", 1<<20) + "\n"
	os.WriteFile(big, []byte(bigContent), 0o600)

	tests := []struct {
		name    string
		args    []string
		environ []string
		code    int
		stdout  string
		stderr  string
	}{
		{"version", []string{"-version"}, nil, 0, "testbot dev (go", ""},
		{"unknown flag", []string{"-nope"}, nil, 2, "", "flag provided but not defined: -nope"},
		{"stray argument", []string{"deploy"}, nil, 2, "", "unexpected arguments"},
		{"bad BOT_ENV", nil, []string{"BOT_ENV=staging"}, 2, "", `BOT_ENV="staging": want local, dev or prd`},
		{"bad log level", nil, []string{"BOT_LOG_LEVEL=loud"}, 2, "", "BOT_LOG_LEVEL"},
		{"bad log format", nil, []string{"BOT_LOG_FORMAT=xml"}, 2, "", "BOT_LOG_FORMAT"},
		{"bad grace period", nil, []string{"BOT_GRACE_PERIOD=soon"}, 2, "", `BOT_GRACE_PERIOD="soon": want a duration`},
		{"negative grace period", nil, []string{"BOT_GRACE_PERIOD=-5s"}, 2, "", "BOT_GRACE_PERIOD"},
		{"grace period too long", nil, []string{"BOT_GRACE_PERIOD=25h"}, 2, "", "at most 24h0m0s"},
		{"default grace period", nil, nil, 0, "", "grace=25s"},
		{"grace period", nil, []string{"BOT_GRACE_PERIOD=45m"}, 0, "", "grace=45m0s"},
		{"check good config", []string{"-check-config"}, []string{"BOT_CONFIG=" + good}, 0, good + ": ok\n", ""},
		{"check unknown key", []string{"-check-config"}, []string{"BOT_CONFIG=" + bad}, 1, "", bad + ":1: key greting: unknown key"},
		{"check invalid", []string{"-check-config"}, []string{"BOT_CONFIG=" + empty}, 1, "", empty + ":1: key greeting: must not be empty"},
		{"check wrong type", []string{"-check-config"}, []string{"BOT_CONFIG=" + wrongType}, 1, "", wrongType + ":2: key greeting: want a string, got a list\n"},
		{"check unclosed quote on line 1", []string{"-check-config"}, []string{"BOT_CONFIG=" + quote}, 1, "", quote + ":1: not valid YAML: a quoted value is never closed"},
		{"check keys differing in case", []string{"-check-config"}, []string{"BOT_CONFIG=" + cased}, 1, "", cased + ":2: keys GREETING (line 1) and greeting (line 2) differ only in case"},
		{"check token as a key", []string{"-check-config"}, []string{"BOT_CONFIG=" + tokenKey}, 1, "", tokenKey + ":2: holds what looks like a Slack token"},
		{"run with token as a key, JSON log", nil, []string{"BOT_CONFIG=" + tokenKey, "BOT_LOG_FORMAT=json"}, 1, "", `"err":"` + tokenKey + `:2: holds what looks like a Slack token`},
		{"check file over 1 MiB", []string{"-check-config"}, []string{"BOT_CONFIG=" + big}, 1, "", fmt.Sprintf("%s: is %d bytes (1.0 MiB); a config file may be at most 1 MiB (1048576 bytes)\n", big, len(bigContent))},
		{"check rule naming unknown command", []string{"-check-config"}, []string{"BOT_CONFIG=" + badRule}, 1, "", badRule + `:3: key access.rules[0].command: unknown command "pnig"`},
		{"check good rules", []string{"-check-config"}, []string{"BOT_CONFIG=" + goodRule}, 0, "ok", ""},
		{"run with rule naming unknown command", nil, []string{"BOT_CONFIG=" + badRule}, 1, "", `unknown command \"pnig\"`},
		{"check good approval", []string{"-check-config"}, []string{"BOT_CONFIG=" + goodApprove}, 0, "ok", ""},
		{"check approval group syntax", []string{"-check-config"}, []string{"BOT_CONFIG=" + badApprove}, 1, "",
			badApprove + `:5: key access.rules[0].approve.groups: "leads" is not a Slack user group ID`},
		{"check approval count", []string{"-check-config"}, []string{"BOT_CONFIG=" + badApprove}, 1, "",
			badApprove + ":6: key access.rules[0].approve.count: 0 is out of range: how many different approvers it takes, from 1 to 10"},
		{"check approval timeout", []string{"-check-config"}, []string{"BOT_CONFIG=" + badApprove}, 1, "",
			badApprove + ":7: key access.rules[0].approve.timeout: 48h0m0s is out of range: from 1m0s to 24h (default 30m)"},
		{"check approval timeout syntax", []string{"-check-config"}, []string{"BOT_CONFIG=" + badTimeout}, 1, "", badTimeout + ":4: key access.rules[0].approve.timeout"},
		{"check approval unknown key", []string{"-check-config"}, []string{"BOT_CONFIG=" + typoApprove}, 1, "", typoApprove + ":4: key access.rules[0].approve.group: unknown key"},
		{"check missing named file", []string{"-check-config"}, []string{"BOT_CONFIG=" + filepath.Join(dir, "no.yaml")}, 1, "", filepath.Join(dir, "no.yaml") + ": does not exist (named by BOT_CONFIG)"},
		{"check a directory", []string{"-check-config"}, []string{"BOT_CONFIG=" + dir}, 1, "", dir + ": is a directory, not a file"},
		{"check missing default", []string{"-check-config"}, []string{"BOT_ENV=dev"}, 0, "no config file; the bot's defaults are valid\n",
			"warning: no config file was checked: /efs/config/testbot/dev.yaml does not exist; write it there, or set BOT_CONFIG to the file\n"},
		{"relative state dir", nil, []string{"BOT_STATE_DIR=state"}, 2, "", `BOT_STATE_DIR="state": want an absolute path, such as /efs/state/testbot`},
		{"state dir is a file", nil, []string{"BOT_STATE_DIR=" + good}, 2, "", "the state directory (BOT_STATE_DIR) is not usable"},
		{"state dir", nil, []string{"BOT_STATE_DIR=" + filepath.Join(dir, "state")}, 0, "", "state=" + filepath.Join(dir, "state")},
		{"no state dir", nil, nil, 0, "", "state=memory"},
		{"bot token alone", nil, []string{"SLACK_BOT_TOKEN=xoxb-test"}, 2, "", "SLACK_BOT_TOKEN is set without"},
		{"app token without bot token", nil, []string{"SLACK_APP_TOKEN=xapp-test"}, 2, "", "SLACK_BOT_TOKEN is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, strings.NewReader(""), tt.environ, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q",
					r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if strings.Contains(r.stderr, "xoxb-test") || strings.Contains(r.stderr, "xapp-test") || strings.Contains(r.stderr, "secretvalue") {
				t.Errorf("a token was logged: %s", r.stderr)
			}
		})
	}
}

// TestCheckConfigDefaultPath: the local default, config/local.yaml, is
// relative to the working directory, as `make run` (which starts a bot in
// its own directory) needs. -check-config from the bot's directory checks
// it; from anywhere else it says loudly that no file was checked, and from
// the repository's root it names the bot's file.
func TestCheckConfigDefaultPath(t *testing.T) {
	root := t.TempDir()
	botDir := filepath.Join(root, "bots", "testbot")
	if err := os.MkdirAll(filepath.Join(botDir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(botDir, "config", "local.yaml"), []byte("greeting: hey\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir      string
		stdout, stderr string
	}{
		{"from the bot's directory", botDir, "config/local.yaml: ok\n", ""},
		{"from the repository's root", root, "no config file; the bot's defaults are valid\n",
			"warning: no config file was checked: config/local.yaml does not exist in " + root + "; run the bot from bots/testbot, or set BOT_CONFIG=bots/testbot/config/local.yaml\n"},
		{"from elsewhere", filepath.Join(root, "bots"), "no config file; the bot's defaults are valid\n",
			"warning: no config file was checked: config/local.yaml does not exist in " + filepath.Join(root, "bots") + "; run the bot from its directory (bots/testbot), or set BOT_CONFIG to the file\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(tt.dir)
			r := run(t, strings.NewReader(""), nil, "-check-config")
			if r.code != 0 || r.stdout != tt.stdout || r.stderr != tt.stderr {
				t.Errorf("code %d, stdout %q, stderr %q; want 0, %q, %q", r.code, r.stdout, r.stderr, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestConsolePipe(t *testing.T) {
	r := run(t, strings.NewReader("ping\n@testbot greet\nslow\n"), []string{"BOT_CFG_GREETING=howdy", "BOT_ENV=local"})
	if r.code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	want := "testbot> ping\n  ↳ pong\ntestbot> @testbot greet\n  ↳ howdy from local\ntestbot> slow\n  ↳ slow done\n"
	if r.stdout != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, want)
	}
	if !strings.Contains(r.stderr, "level=WARN msg=\"no config file; using the bot's defaults\"") {
		t.Errorf("stderr does not warn about the missing default config:\n%s", r.stderr)
	}
}

func TestHealthMetricsAndSignal(t *testing.T) {
	pr, pw := io.Pipe()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- botmain.Run(context.Background(), "testbot", setup, botmain.Options{
			Stdin: pr, Stdout: &out, Stderr: &errb, StdinIsTerminal: true,
			Environ: []string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_LOG_FORMAT=json", "BOT_LOG_LEVEL=info", "TESTBOT_HOOK_TOKEN=s3cret"},
			Signals: []os.Signal{syscall.SIGUSR1},
		})
	}()
	addrRE := regexp.MustCompile(`"msg":"http server listening".*"addr":"([^"]+)"`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no listening address logged:\n%s", errb.String())
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d", code)
	}
	io.WriteString(pw, "ping\n")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "pong"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no pong:\n%s", out.String())
		}
	}
	if !strings.HasPrefix(out.String(), "testbot> ") {
		t.Errorf("no prompt on a terminal: %q", out.String())
	}
	// The bot's webhook is served beside /healthz, its token read from
	// the environment.
	postHook := func(token string) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hooks/echo", strings.NewReader(`{"n":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST /hooks/echo: %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := postHook("wrong"); code != http.StatusUnauthorized {
		t.Errorf("POST /hooks/echo with a wrong token = %d, want 401", code)
	}
	if code := postHook("s3cret"); code != http.StatusAccepted {
		t.Errorf("POST /hooks/echo = %d, want 202", code)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), `hook: {"n":1}`); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the webhook's handler did not post:\n%s", out.String())
		}
	}
	_, metrics := get("/metrics")
	for _, want := range []string{
		`botkit_commands_total{bot="testbot",command="ping",outcome="ok"} 1`,
		`botkit_events_total{bot="testbot",result="handled"} 2`,
		`botkit_webhook_requests_total{bot="testbot",hook="/hooks/echo",result="unauthorized"} 1`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// A running command finishes after the signal, then the bot exits 0.
	io.WriteString(pw, "slow\n")
	select {
	case <-slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow command did not start")
	}
	syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d after the signal, want 0; stderr:\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not stop within 10s of the signal")
	}
	if !strings.Contains(out.String(), "slow done") {
		t.Errorf("the running command did not finish before exit:\n%s", out.String())
	}
	pw.Close()
}

// TestGracePeriodFromEnv: BOT_GRACE_PERIOD bounds how long a stopping bot
// waits for a running command before cancelling it.
func TestGracePeriodFromEnv(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- botmain.Run(ctx, "testbot", setup, botmain.Options{
			Stdin: pr, Stdout: &out, Stderr: &errb,
			Environ: []string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_GRACE_PERIOD=20ms"},
		})
	}()
	select { // a slow run of an earlier test may have left its signal
	case <-slowStarted:
	default:
	}
	io.WriteString(pw, "slow\n")
	select {
	case <-slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow command did not start")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not stop within 10s")
	}
	if !strings.Contains(errb.String(), "grace period over; cancelling running commands") || !strings.Contains(errb.String(), "grace=20ms") {
		t.Errorf("the 200ms command was not cancelled after a 20ms grace period:\n%s", errb.String())
	}
}

// TestAppTokenRefusedExits: a SLACK_APP_TOKEN Slack refuses for good (here
// the bot token in its place) stops the bot at start with a non-zero exit
// and a line saying what the token must be, rather than retrying forever.
func TestAppTokenRefusedExits(t *testing.T) {
	srv := slacktest.New(t)
	done := make(chan result, 1)
	go func() {
		done <- run(t, strings.NewReader(""), []string{"SLACK_BOT_TOKEN=" + slacktest.BotToken,
			"SLACK_APP_TOKEN=" + slacktest.BotToken, "SLACK_API_URL=" + srv.APIURL(), "BOT_ENV=dev", "BOT_CONFIG_POLL=0"})
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("the bot still runs 20s after Slack refused its app token")
	}
	if r.code != botmain.ExitFailed || !strings.Contains(r.stderr, "not_allowed_token_type") || !strings.Contains(r.stderr, "xapp-") || !strings.Contains(r.stderr, "connections:write") {
		t.Errorf("code %d, stderr:\n%s\nwant exit %d and a line on the app token", r.code, r.stderr, botmain.ExitFailed)
	}
	if strings.Contains(r.stderr, slacktest.BotToken) {
		t.Errorf("a token was logged:\n%s", r.stderr)
	}
}

// At a terminal the conversation is not buried in info lines: only
// warnings and errors are logged, unless BOT_LOG_LEVEL asks for more.
func TestTerminalConsoleLogsQuietly(t *testing.T) {
	for _, tt := range []struct {
		name, level string
		info        bool
	}{
		{"default", "", false},
		{"asked for", "BOT_LOG_LEVEL=info", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb syncBuffer
			environ := []string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_LOG_FORMAT=text"}
			if tt.level != "" {
				environ = append(environ, tt.level)
			}
			code := botmain.Run(t.Context(), "testbot", setup, botmain.Options{
				Stdin: strings.NewReader("ping\n"), Stdout: &out, Stderr: &errb, StdinIsTerminal: true, Environ: environ,
			})
			if code != botmain.ExitOK || !strings.Contains(out.String(), "pong") {
				t.Fatalf("exit %d, stdout %q", code, out.String())
			}
			if got := strings.Contains(errb.String(), "level=INFO"); got != tt.info {
				t.Errorf("info lines logged: %v, want %v:\n%s", got, tt.info, errb.String())
			}
			if !tt.info && !strings.Contains(errb.String(), "logs show warnings and errors only (BOT_LOG_LEVEL=info shows all)") {
				t.Errorf("no note on the log level:\n%s", errb.String())
			}
		})
	}
}

// A requirement that fails (a program the bot runs is missing) fails
// -check-config, and keeps a running bot not ready, saying what is
// missing, while its other commands still work.
func TestRequirements(t *testing.T) {
	missing := true
	var mu sync.Mutex
	needs := func(ctx context.Context, b *botkit.Bot, live *botkit.Live[testConfig], env botkit.Env) error {
		b.Requires("frob", func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			if missing {
				return fmt.Errorf("`frob` is not in the bot's PATH; install it")
			}
			return nil
		})
		return setup(ctx, b, live, env)
	}
	var out, errb syncBuffer
	code := botmain.Run(t.Context(), "testbot", needs, botmain.Options{
		Args: []string{"-check-config"}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Environ: nil,
	})
	if code != botmain.ExitFailed || !strings.Contains(errb.String(), "the bot cannot work here: frob: `frob` is not in the bot's PATH; install it") {
		t.Fatalf("-check-config: exit %d, stderr %q", code, errb.String())
	}

	pr, pw := io.Pipe()
	defer pw.Close()
	out, errb = syncBuffer{}, syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- botmain.Run(context.Background(), "testbot", needs, botmain.Options{
			Stdin: pr, Stdout: &out, Stderr: &errb,
			Environ: []string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_LOG_FORMAT=json"},
		})
	}()
	addrRE := regexp.MustCompile(`"msg":"http server listening".*"addr":"([^"]+)"`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := addrRE.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		t.Fatalf("no listening address logged:\n%s", errb.String())
	}
	if !strings.Contains(errb.String(), `"msg":"the bot cannot fully work here"`) {
		t.Errorf("the missing program was not logged at start:\n%s", errb.String())
	}
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "frob: `frob` is not in the bot's PATH") {
		t.Errorf("/readyz = %d %q, want 503 naming frob", code, body)
	}
	io.WriteString(pw, "ping\n")
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(out.String(), "pong"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ping got no pong while a requirement failed: %q", out.String())
		}
	}
	mu.Lock()
	missing = false
	mu.Unlock()
	if code, _ := readyz(); code != http.StatusOK {
		t.Errorf("/readyz = %d once frob is there, want 200", code)
	}
	pw.Close()
	if code := <-done; code != botmain.ExitOK {
		t.Errorf("exit %d", code)
	}
}

// The old key state.dir is refused by the loader, naming what replaced it.
// (Here, not in botkit's tests: tools links botkit, and a test of botkit
// importing pkg/config would put the config loader's modules in tools'
// go.sum.)
func TestRetiredStateDirKey(t *testing.T) {
	var s botkit.Settings
	_, err := config.Load(&s, config.Options{Content: []byte("state:\n  dir: /efs/state/t\n")})
	if err == nil || !strings.Contains(err.Error(), "key state.dir: no longer a config key: scheduled jobs keep their state in $BOT_STATE_DIR/schedule: set BOT_STATE_DIR") {
		t.Errorf("a config with state.dir: %v", err)
	}
}
