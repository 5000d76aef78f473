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

func TestConfigReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bot.yaml")
	writeFile := func(s string) {
		t.Helper()
		// Write and rename, as a careful operator (or kubectl cp) would; the
		// reloader must also cope with in-place writes, which it reads whole.
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	writeFile("greeting: one\n")

	pr, pw := io.Pipe()
	defer pw.Close()
	var out, errb syncBuffer
	done := make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- botmain.Run(ctx, "testbot", setup, botmain.Options{
			Stdin: pr, Stdout: &out, Stderr: &errb, StdinIsTerminal: true,
			Environ: []string{"BOT_HTTP_ADDR=127.0.0.1:0", "BOT_CONFIG=" + path, "BOT_CONFIG_POLL=10ms"},
		})
	}()
	addrRE := regexp.MustCompile(`msg="http server listening".* addr=(\S+)`)
	var addr string
	waitFor(t, "the listening address", func() bool {
		m := addrRE.FindStringSubmatch(errb.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	greet := func(want string) {
		t.Helper()
		out0 := strings.Count(out.String(), "from local")
		io.WriteString(pw, "greet\n")
		waitFor(t, "a greeting", func() bool { return strings.Count(out.String(), "from local") > out0 })
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.Contains(last, want+" from local") {
			t.Fatalf("greeting %q, want %q", last, want)
		}
	}
	readyz := func() string {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("/readyz = %d", resp.StatusCode)
		}
		return string(b)
	}

	greet("one")
	writeFile("greeting: two\n")
	waitFor(t, "the reload", func() bool { return strings.Contains(errb.String(), `msg="config reloaded"`) })
	greet("two")

	for _, bad := range []struct{ content, logged string }{
		{"greeting: [\n", "not valid YAML"},
		{"greting: three\n", "key greting: unknown key"},
		{"greeting: xoxb-12345-fakesecretvalue\n", "key greeting: holds what looks like a Slack token"},
		{"greeting: ''\n", "greeting: must not be empty"},
	} {
		n := strings.Count(errb.String(), "config reload failed")
		writeFile(bad.content)
		waitFor(t, "the failed reload", func() bool { return strings.Count(errb.String(), "config reload failed") > n })
		if !strings.Contains(errb.String(), bad.logged) {
			t.Errorf("log lacks %q:\n%s", bad.logged, errb.String())
		}
		greet("two") // the last good config stays
		if r := readyz(); !strings.Contains(r, "the last good one is in use") {
			t.Errorf("/readyz does not explain the stale config: %q", r)
		}
	}
	if strings.Contains(errb.String(), "secretvalue") {
		t.Error("the log echoes a secret from the config file")
	}
	writeFile("greeting: four\n")
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
