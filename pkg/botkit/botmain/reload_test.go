package botmain_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/botmain"
)

// started is a bot running in the test on the console, with its HTTP server.
type started struct {
	out, errb *syncBuffer
	addr      string
	stdin     *io.PipeWriter
	cancel    context.CancelFunc
	done      chan int
}

func start(t *testing.T, environ ...string) *started {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	s := &started{out: &syncBuffer{}, errb: &syncBuffer{}, stdin: pw, done: make(chan int, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s.cancel = cancel
	go func() {
		s.done <- botmain.Run(ctx, "testbot", setup, botmain.Options{
			Stdin: pr, Stdout: s.out, Stderr: s.errb, StdinIsTerminal: true,
			Environ: append([]string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_LOG_LEVEL=info"}, environ...),
		})
	}()
	addrRE := regexp.MustCompile(`"?msg"?[=:]"http server listening".*"?addr"?[=:]"?([0-9.:]+)`)
	waitFor(t, "the listening address", func() bool {
		m := addrRE.FindStringSubmatch(s.errb.String())
		if m != nil {
			s.addr = m[1]
		}
		return m != nil
	})
	return s
}

func (s *started) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + s.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Errorf("%s = %d", path, resp.StatusCode)
	}
	return string(b)
}

// writeFile writes and renames, as a careful operator (or kubectl cp)
// would; the reloader must also cope with in-place writes, which it reads
// whole.
func writeFile(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestConfigReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.yaml")
	writeFile(t, path, "greeting: one\n")
	bot := start(t, "BOT_CONFIG="+path, "BOT_CONFIG_POLL=10ms")
	out, errb, pw, cancel, done := bot.out, bot.errb, bot.stdin, bot.cancel, bot.done
	greet := func(want string) {
		t.Helper()
		out0 := strings.Count(out.String(), "from local")
		io.WriteString(pw, "greet\n")
		waitFor(t, "a greeting", func() bool { return strings.Count(out.String(), "from local") > out0 })
		// The newest greeting; on a terminal a fresh prompt follows it.
		lines := strings.Split(out.String(), "\n")
		last := ""
		for _, l := range lines {
			if strings.Contains(l, "from local") {
				last = l
			}
		}
		if !strings.Contains(last, want+" from local") {
			t.Fatalf("greeting %q, want %q", last, want)
		}
	}
	readyz := func() string { return bot.get(t, "/readyz") }

	greet("one")
	writeFile(t, path, "greeting: two\n")
	waitFor(t, "the reload", func() bool { return strings.Contains(errb.String(), `msg="config reloaded"`) })
	greet("two")

	for _, bad := range []struct{ content, logged string }{
		{"greeting: [\n", ":1: not valid YAML: a value is missing"},
		{"greting: three\n", ":1: key greting: unknown key"},
		{"greeting: [a, b]\n", ":1: key greeting: want a string, got a list"},
		{"greeting: xoxb-12345-fakesecretvalue\n", ":1: holds what looks like a Slack token"},
		{"# the old one: xoxb-12345-fakesecretvalue\ngreeting: x\n", ":1: holds what looks like a Slack token"},
		{"greeting: x\nxoxb-12345-fakesecretvalue: y\n", ":2: holds what looks like a Slack token"},
		{"Greeting: x\ngreeting: y\n", ":2: keys Greeting (line 1) and greeting (line 2) differ only in case"},
		{"greeting: ''\n", ":1: key greeting: must not be empty"},
	} {
		n := strings.Count(errb.String(), "config reload failed")
		writeFile(t, path, bad.content)
		waitFor(t, "the failed reload", func() bool { return strings.Count(errb.String(), "config reload failed") > n })
		if !strings.Contains(errb.String(), bad.logged) {
			t.Errorf("log lacks %q:\n%s", bad.logged, errb.String())
		}
		greet("two") // the last good config stays
		if r := readyz(); !strings.Contains(r, "the last good one is in use") || !strings.Contains(r, bad.logged) || strings.Contains(r, "secretvalue") {
			t.Errorf("/readyz does not explain the stale config, or echoes a secret: %q", r)
		}
	}
	if strings.Contains(errb.String(), "secretvalue") {
		t.Error("the log echoes a secret from the config file")
	}
	if r := readyz(); strings.Contains(r, "secretvalue") {
		t.Errorf("/readyz echoes a secret from the config file: %q", r)
	}
	writeFile(t, path, "greeting: four\n")
	waitFor(t, "the recovery", func() bool { return strings.Count(errb.String(), `msg="config reloaded"`) == 2 })
	greet("four")
	if r := readyz(); r != "ok\n" {
		t.Errorf("/readyz after recovery = %q", r)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConfigFaultReportedOnce: while the config path is missing or a
// directory, the reloader reports the fault once (one log line, one count
// in botkit_config_reloads_total{result="error"}), not at every poll; a new
// fault is reported once more, and so is the recovery.
func TestConfigFaultReportedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.yaml")
	writeFile(t, path, "greeting: one\n")
	bot := start(t, "BOT_CONFIG="+path, "BOT_CONFIG_POLL=5ms")
	failures := func() int { return strings.Count(bot.errb.String(), "config reload failed") }
	errorsCounted := func() string {
		m := regexp.MustCompile(`botkit_config_reloads_total\{[^}]*result="error"[^}]*\} (\d+)`).FindStringSubmatch(bot.get(t, "/metrics"))
		if m == nil {
			return "0"
		}
		return m[1]
	}
	// Polls run every 5ms: 200ms is some 40 of them.
	settle := func() { time.Sleep(200 * time.Millisecond) }

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missing file reported", func() bool { return failures() == 1 })
	settle()
	if n, c := failures(), errorsCounted(); n != 1 || c != "1" {
		t.Errorf("a missing file was reported %d times and counted %s times, want once", n, c)
	}
	if r := bot.get(t, "/readyz"); !strings.Contains(r, path+": does not exist") {
		t.Errorf("/readyz = %q, want the missing file", r)
	}

	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the directory reported", func() bool { return failures() == 2 })
	settle()
	if n, c := failures(), errorsCounted(); n != 2 || c != "2" {
		t.Errorf("after a second fault: reported %d times, counted %s, want 2", n, c)
	}
	if !strings.Contains(bot.errb.String(), path+": is a directory, not a file") {
		t.Errorf("the log does not say the path is a directory:\n%s", bot.errb.String())
	}

	// Between these two the path may be seen missing: a third fault.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "greeting: one\n") // the same content as the config in use
	waitFor(t, "the recovery", func() bool { return strings.Contains(bot.errb.String(), `msg="config reloaded"`) })
	before := failures()
	settle()
	if n := strings.Count(bot.errb.String(), `msg="config reloaded"`); n != 1 || failures() != before {
		t.Errorf("recovery logged %d times, then %d more failures; want once and none:\n%s", n, failures()-before, bot.errb.String())
	}
	if r := bot.get(t, "/readyz"); r != "ok\n" {
		t.Errorf("/readyz after recovery = %q", r)
	}
}

// TestSecretsRotationStopsTheBot checks that a change of the mounted Slack
// Secret (BOT_SECRETS_DIR, written as the kubelet does: new files behind a
// swapped ..data symlink) makes the bot drain and exit 0, so that its
// restart reads the new tokens, and that the kubelet's own entries alone
// do not.
func TestSecretsRotationStopsTheBot(t *testing.T) {
	dir := t.TempDir()
	kubeletWrite := func(ts, token string) {
		t.Helper()
		data := filepath.Join(dir, "..2026_12_05_"+ts)
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "SLACK_BOT_TOKEN"), []byte(token), 0o600); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(filepath.Base(data), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	kubeletWrite("1", "old-value")
	if err := os.Symlink("..data/SLACK_BOT_TOKEN", filepath.Join(dir, "SLACK_BOT_TOKEN")); err != nil {
		t.Fatal(err)
	}
	bot := start(t, "BOT_SECRETS_DIR="+dir, "BOT_CONFIG_POLL=5ms")
	kubeletWrite("2", "old-value") // same content, new kubelet entries
	time.Sleep(100 * time.Millisecond)
	select {
	case code := <-bot.done:
		t.Fatalf("the bot stopped (%d) though no value changed", code)
	default:
	}
	kubeletWrite("3", "new-value")
	select {
	case code := <-bot.done:
		if code != botmain.ExitOK {
			t.Errorf("exit %d, want %d", code, botmain.ExitOK)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bot did not stop after the Secret changed")
	}
	if log := bot.errb.String(); !strings.Contains(log, "the Slack Secret changed") || strings.Contains(log, "new-value") {
		t.Errorf("log lacks the restart line, or shows the value:\n%s", log)
	}
}
