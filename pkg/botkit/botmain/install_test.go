package botmain_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/botfleet/botfleet/pkg/botkit/botmain"
)

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func readOr(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return "<none>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestInstallConfig: -install-config checks the file as the bot loads it
// and refuses a bad one with its file and line, changing nothing; -dry-run
// checks only; a good file lands at BOT_CONFIG with its record beside it,
// and no temporary file is left.
func TestInstallConfig(t *testing.T) {
	src := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(src, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.yaml", "greeting: hey\n")
	typo := write("typo.yaml", "greting: hey\n")
	token := write("token.yaml", "greeting: xoxb-12345-fakesecretvalue\n")
	rule := write("rule.yaml", "access:\n  rules:\n    - command: pnig\n      users: [U1]\n")

	tests := []struct {
		name    string
		args    []string
		config  string // BOT_CONFIG, relative to the test's EFS dir unless absolute or empty
		code    int
		stdout  string
		stderr  string
		written string // the content at BOT_CONFIG afterwards; "<none>" for no file
	}{
		{"dry run of a good file", []string{"-install-config", good, "-dry-run"}, "", 0, good + ": ok", "", "<none>"},
		{"dry run needs install", []string{"-dry-run"}, "", 2, "", "-dry-run goes with -install-config", "<none>"},
		{"unknown key", []string{"-install-config", typo}, "bot/dev.yaml", 1, "", typo + ":1: key greting: unknown key", "<none>"},
		{"token", []string{"-install-config", token}, "bot/dev.yaml", 1, "", token + ":1: holds what looks like a Slack token", "<none>"},
		{"rule naming an unknown command", []string{"-install-config", rule}, "bot/dev.yaml", 1, "", rule + `:3: key access.rules[0].command: unknown command "pnig"`, "<none>"},
		{"missing source", []string{"-install-config", filepath.Join(src, "no.yaml")}, "bot/dev.yaml", 1, "", "no.yaml: does not exist", "<none>"},
		{"relative target", []string{"-install-config", good}, "config/dev.yaml", 2, "", "set it to the absolute path", "<none>"},
		{"install", []string{"-install-config", good}, "bot/dev.yaml", 0, "", `msg="config installed"`, "greeting: hey\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			efs := t.TempDir()
			target := filepath.Join(efs, "bot", "dev.yaml")
			env := []string{"BOT_ENV=dev", "BOT_LOG_FORMAT=text"}
			switch {
			case tt.config == "":
			case filepath.IsAbs(tt.config) || strings.HasPrefix(tt.config, "config/"):
				env = append(env, "BOT_CONFIG="+tt.config)
			default:
				env = append(env, "BOT_CONFIG="+filepath.Join(efs, tt.config))
			}
			r := run(t, strings.NewReader(""), env, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout, tt.stdout) || !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("code %d, stdout %q, stderr %q; want code %d, stdout with %q, stderr with %q", r.code, r.stdout, r.stderr, tt.code, tt.stdout, tt.stderr)
			}
			if strings.Contains(r.stderr, "secretvalue") {
				t.Errorf("a token was echoed: %s", r.stderr)
			}
			if got := readOr(t, target); got != tt.written {
				t.Errorf("BOT_CONFIG holds %q, want %q", got, tt.written)
			}
			if tt.written == "<none>" {
				if got := readOr(t, botmain.RecordPath(target)); got != "<none>" {
					t.Errorf("a record was written: %q", got)
				}
				return
			}
			if got := readOr(t, botmain.RecordPath(target)); got != sum(tt.written)+"\n" {
				t.Errorf("record %q, want the content's sha256", got)
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			for _, e := range entries {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("a temporary file is left: %s", e.Name())
				}
			}
		})
	}
}

// TestInstallConfigDrift: a file changed by hand after an install is drift:
// the next install says so and restores Git's version; an install that
// finds the file as it left it reports neither drift nor a change.
func TestInstallConfigDrift(t *testing.T) {
	src := filepath.Join(t.TempDir(), "dev.yaml")
	os.WriteFile(src, []byte("greeting: from git\n"), 0o600)
	target := filepath.Join(t.TempDir(), "dev.yaml")
	env := []string{"BOT_ENV=dev", "BOT_LOG_FORMAT=text", "BOT_CONFIG=" + target}
	install := func() string {
		t.Helper()
		r := run(t, strings.NewReader(""), env, "-install-config", src)
		if r.code != 0 {
			t.Fatalf("install: code %d, %s", r.code, r.stderr)
		}
		return r.stderr
	}

	if log := install(); !strings.Contains(log, "changed=true drift=false") {
		t.Errorf("first install: %s", log)
	}
	if log := install(); !strings.Contains(log, "changed=false drift=false") {
		t.Errorf("an install over its own file: %s", log)
	}
	os.WriteFile(target, []byte("greeting: by hand\n"), 0o600)
	log := install()
	if !strings.Contains(log, "config drift") || !strings.Contains(log, "found_sha256="+sum("greeting: by hand\n")) || !strings.Contains(log, "changed=true drift=true") {
		t.Errorf("an install over a hand-made change does not report drift: %s", log)
	}
	if got := readOr(t, target); got != "greeting: from git\n" {
		t.Errorf("after the install the file is %q, want Git's", got)
	}
}

// TestInstallConfigAtomic: a reader polling the file while installs swap
// two versions back and forth only ever sees one of them whole, never a
// truncated or mixed file, as the bot's reloader must.
func TestInstallConfigAtomic(t *testing.T) {
	dir := t.TempDir()
	versions := []string{
		"greeting: " + strings.Repeat("a", 200_000) + "\n",
		"greeting: " + strings.Repeat("b", 300_000) + "\n",
	}
	srcs := make([]string, len(versions))
	for i, v := range versions {
		srcs[i] = filepath.Join(dir, "v"+string(rune('0'+i))+".yaml")
		os.WriteFile(srcs[i], []byte(v), 0o600)
	}
	target := filepath.Join(dir, "efs", "dev.yaml")
	env := []string{"BOT_ENV=dev", "BOT_CONFIG=" + target}
	if r := run(t, strings.NewReader(""), env, "-install-config", srcs[0]); r.code != 0 {
		t.Fatal(r.stderr)
	}

	var stop atomic.Bool
	var reads, torn atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stop.Load() {
			b, err := os.ReadFile(target)
			if err != nil {
				torn.Add(1)
				continue
			}
			reads.Add(1)
			if s := string(b); s != versions[0] && s != versions[1] {
				torn.Add(1)
			}
		}
	})
	for i := range 40 {
		if r := run(t, strings.NewReader(""), env, "-install-config", srcs[(i+1)%2]); r.code != 0 {
			t.Error(r.stderr)
		}
	}
	stop.Store(true)
	wg.Wait()
	if torn.Load() > 0 || reads.Load() == 0 {
		t.Errorf("%d of %d reads saw a missing or partial file", torn.Load(), reads.Load()+torn.Load())
	}
}

// TestConfigDriftSeenByBot: the running bot compares its file with the
// record of the last install: a change by hand shows as a log line, the
// botkit_config_drift gauge and a /readyz detail (still ready: the bot
// works on the file it has), and the next install ends it; the reload
// picks up both changes.
func TestConfigDriftSeenByBot(t *testing.T) {
	src := filepath.Join(t.TempDir(), "dev.yaml")
	os.WriteFile(src, []byte("greeting: from git\n"), 0o600)
	target := filepath.Join(t.TempDir(), "dev.yaml")
	if r := run(t, strings.NewReader(""), []string{"BOT_ENV=dev", "BOT_CONFIG=" + target}, "-install-config", src); r.code != 0 {
		t.Fatal(r.stderr)
	}
	bot := start(t, "BOT_CONFIG="+target, "BOT_CONFIG_POLL=5ms")
	gauge := func() string {
		m := regexp.MustCompile(`(?m)^botkit_config_drift(?:\{[^}]*\})? (\d+)`).FindStringSubmatch(bot.get(t, "/metrics"))
		if m == nil {
			return "absent"
		}
		return m[1]
	}
	if g := gauge(); g != "0" {
		t.Errorf("botkit_config_drift = %s before any change, want 0", g)
	}

	writeFile(t, target, "greeting: by hand\n")
	waitFor(t, "the drift reported", func() bool { return strings.Contains(bot.errb.String(), "config drift: the file differs") })
	waitFor(t, "the reload", func() bool { return strings.Contains(bot.errb.String(), `msg="config reloaded"`) })
	if r := bot.get(t, "/readyz"); !strings.HasPrefix(r, "ok\n") || !strings.Contains(r, "differs from what the last sync installed") {
		t.Errorf("/readyz = %q, want ready with the drift", r)
	}
	if g := gauge(); g != "1" {
		t.Errorf("botkit_config_drift = %s during drift, want 1", g)
	}

	if r := run(t, strings.NewReader(""), []string{"BOT_ENV=dev", "BOT_CONFIG=" + target}, "-install-config", src); r.code != 0 {
		t.Fatal(r.stderr)
	}
	waitFor(t, "the drift ended", func() bool { return strings.Contains(bot.errb.String(), "config drift ended") })
	waitFor(t, "the second reload", func() bool { return strings.Count(bot.errb.String(), `msg="config reloaded"`) == 2 })
	if r := bot.get(t, "/readyz"); r != "ok\n" {
		t.Errorf("/readyz after the restore = %q", r)
	}
	if g := gauge(); g != "0" {
		t.Errorf("botkit_config_drift = %s after the restore, want 0", g)
	}
}
