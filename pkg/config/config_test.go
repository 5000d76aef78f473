package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/config"
	"github.com/botfleet/botfleet/pkg/golden"
)

type app struct {
	Playbook string        `yaml:"playbook"`
	Timeout  time.Duration `yaml:"timeout"`
	Envs     []string      `yaml:"envs"`
}

type cfg struct {
	StateDir string         `yaml:"state_dir"`
	Workers  int            `yaml:"workers"`
	Debug    bool           `yaml:"debug"`
	Audit    audit          `yaml:"audit"`
	Apps     map[string]app `yaml:"apps"`
	Admins   []string       `yaml:"admins"`
}

type audit struct {
	Channel string `yaml:"channel"`
}

func (c *cfg) SetDefaults() { c.Workers = 2; c.StateDir = "/tmp/state" }

func (c *cfg) RetiredKeys() map[string]string {
	return map[string]string{"audit.dir": "set BOT_STATE_DIR instead"}
}

func (c *cfg) Validate() error {
	for name, a := range c.Apps {
		if a.Playbook == "" {
			return &config.Error{Key: "apps." + name + ".playbook", Msg: "is required"}
		}
	}
	if c.Workers < 1 {
		return errors.New("key workers: must be at least 1")
	}
	return nil
}

func write(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bot.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoad(t *testing.T) {
	path := write(t, `
state_dir: /efs/state
audit:
  channel: C0AUDIT
apps:
  API:
    playbook: api.yml
    timeout: 10m
    envs: [dev, prd]
admins: [U123ABC, U456DEF]
`)
	var c cfg
	res, err := config.Load(&c, config.Options{Path: path, Required: true, Environ: []string{
		"BOT_CFG_WORKERS=4", "BOT_CFG_DEBUG=true", "BOT_CFG_AUDIT_CHANNEL=C0OTHER", "PATH=/bin", "BOT_ENV=dev",
	}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := cfg{
		StateDir: "/efs/state", Workers: 4, Debug: true, Audit: audit{Channel: "C0OTHER"},
		Apps:   map[string]app{"api": {Playbook: "api.yml", Timeout: 10 * time.Minute, Envs: []string{"dev", "prd"}}},
		Admins: []string{"U123ABC", "U456DEF"},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if !res.FileFound || len(res.Content) == 0 {
		t.Errorf("Loaded = %+v, want the file's content", res)
	}
}

func TestLoadMissingFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	var c cfg
	res, err := config.Load(&c, config.Options{Path: missing, Environ: []string{"BOT_CFG_STATE_DIR=/x"}})
	if err != nil {
		t.Fatalf("Load of a missing default file: %v", err)
	}
	if res.FileFound || c.Workers != 2 || c.StateDir != "/x" {
		t.Errorf("got %+v (found %v), want defaults with the env override", c, res.FileFound)
	}
	// A variable that names two keys (a bot's own state_dir beside
	// botkit's state.dir) sets both.
	var two struct {
		StateDir string `yaml:"state_dir"`
		State    struct {
			Dir string `yaml:"dir"`
		} `yaml:"state"`
	}
	if _, err := config.Load(&two, config.Options{Path: missing, Environ: []string{"BOT_CFG_STATE_DIR=/y"}}); err != nil {
		t.Fatal(err)
	}
	if two.StateDir != "/y" || two.State.Dir != "/y" {
		t.Errorf("state_dir %q, state.dir %q; want both /y", two.StateDir, two.State.Dir)
	}
	_, err = config.Load(&cfg{}, config.Options{Path: missing, Required: true})
	if want := missing + ": does not exist (named by BOT_CONFIG)"; err == nil || err.Error() != want {
		t.Errorf("Load of a missing required file = %v, want an error naming it", err)
	}
}

// TestLoadErrorsGolden loads each testdata/errors/*.yaml and compares the
// error with its .golden file: one line a problem, naming the file, the line
// where the problem starts and the key, and never a secret.
func TestLoadErrorsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".yaml")
		t.Run(name, func(t *testing.T) {
			_, err := config.Load(&cfg{}, config.Options{Path: path, Required: true})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
			got := err.Error() + "\n"
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, path+":") {
					t.Errorf("line %q does not start with the file and a line number", line)
				}
			}
			content, _ := os.ReadFile(path)
			for _, secret := range secretsIn(string(content)) {
				if strings.Contains(strings.ToLower(got), strings.ToLower(secret)) {
					t.Errorf("the error echoes a secret: %s", got)
				}
			}
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".golden", got)
		})
	}
}

// secretsIn returns the fake secrets the testdata files hold.
func secretsIn(s string) []string {
	re := regexp.MustCompile(`xox[a-z]-[0-9A-Za-z-]+|xapp-[0-9A-Za-z-]+|AKIA[A-Z0-9]{16}|[A-Za-z0-9/+]{40}|BEGIN OPENSSH PRIVATE KEY`)
	return re.FindAllString(s, -1)
}

func TestLoadEnvErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		environ    []string
		want       string
	}{
		{"unknown override", "", []string{"BOT_CFG_WORKRS=3"}, "config: environment variable BOT_CFG_WORKRS matches no config key (known: BOT_CFG_STATE_DIR, BOT_CFG_WORKERS, BOT_CFG_DEBUG, BOT_CFG_AUDIT_CHANNEL, BOT_CFG_ADMINS)"},
		{"bad value", "workers: 3\n", []string{"BOT_CFG_WORKERS=lots"}, `key workers: want a whole number, got "lots" (from BOT_CFG_WORKERS)`},
		{"out of range", "", []string{"BOT_CFG_WORKERS=99999999999999999999"}, `key workers: want a whole number, got "99999999999999999999" (from BOT_CFG_WORKERS), out of range`},
		{"bad value of a nested key", "", []string{"BOT_CFG_DEBUG=maybe"}, `key debug: want true or false, got "maybe" (from BOT_CFG_DEBUG)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.yaml)
			_, err := config.Load(&cfg{}, config.Options{Path: path, Environ: tt.environ})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestLoadYAMLFeatures: what the loader's own YAML decoding must keep doing
// as yaml.v3 does: anchors, aliases, merge keys (written keys win), tags,
// nulls, comments, an empty file, a trailing document marker.
func TestLoadYAMLFeatures(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       cfg
	}{
		{"empty", "", cfg{Workers: 2, StateDir: "/tmp/state"}},
		{"comments only", "# nothing yet\n", cfg{Workers: 2, StateDir: "/tmp/state"}},
		{"null document", "~\n", cfg{Workers: 2, StateDir: "/tmp/state"}},
		{"trailing document marker", "workers: 3\n---\n", cfg{Workers: 3, StateDir: "/tmp/state"}},
		{"tags and quoting", "workers: !!int \"5\"\nstate_dir: '/a # b'\ndebug: !!bool true\n", cfg{Workers: 5, StateDir: "/a # b", Debug: true}},
		{"null value keeps the default", "workers: 4\nstate_dir:\n", cfg{Workers: 4, StateDir: "/tmp/state"}},
		{"aliases and merges", `
defaults: &d {playbook: base.yml, timeout: 5m, envs: [dev]}
more: &m {timeout: 9m, envs: [prd]}
apps:
  api: {<<: *d, playbook: api.yml}
  web:
    <<: [*m, *d]
  job: *d
admins: &admins [U1, U2]
`, cfg{Workers: 2, StateDir: "/tmp/state", Admins: []string{"U1", "U2"}, Apps: map[string]app{
			"api": {Playbook: "api.yml", Timeout: 5 * time.Minute, Envs: []string{"dev"}},
			"web": {Playbook: "base.yml", Timeout: 9 * time.Minute, Envs: []string{"prd"}},
			"job": {Playbook: "base.yml", Timeout: 5 * time.Minute, Envs: []string{"dev"}},
		}}},
		{"one key in different cases across a merge: the written one wins", "x: &x {PlayBook: b.yml}\napps:\n  api: {<<: *x, playbook: a.yml}\n",
			cfg{Workers: 2, StateDir: "/tmp/state", Apps: map[string]app{"api": {Playbook: "a.yml"}}}},
	}
	type withExtras struct {
		cfg      `yaml:",inline"`
		Defaults app `yaml:"defaults"`
		More     app `yaml:"more"`
		X        app `yaml:"x"`
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got withExtras
			if _, err := config.Load(&got, config.Options{Path: write(t, tt.yaml)}); err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.want, got.cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadSizeCap: a file over MaxSize is refused before it is parsed (this
// one is not even YAML); one at the cap loads.
func TestLoadSizeCap(t *testing.T) {
	over := write(t, "{"+strings.Repeat("x", config.MaxSize))
	_, err := config.Load(&cfg{}, config.Options{Path: over})
	want := over + ": is 1048577 bytes (1.0 MiB); a config file may be at most 1 MiB (1048576 bytes)"
	if err == nil || err.Error() != want {
		t.Errorf("Load of a file over the cap = %v, want %q", err, want)
	}
	if _, err := config.ReadFile(over); err == nil || err.Error() != want {
		t.Errorf("ReadFile of a file over the cap = %v, want %q", err, want)
	}
	_, err = config.Load(&cfg{}, config.Options{Path: over, Content: make([]byte, config.MaxSize+1)})
	if err == nil || !strings.Contains(err.Error(), "at most 1 MiB") {
		t.Errorf("Load of content over the cap = %v", err)
	}
	at := write(t, atCap(t, "", "", "state_dir: /efs/state\n"))
	var c cfg
	if _, err := config.Load(&c, config.Options{Path: at}); err != nil {
		t.Fatalf("Load of a file at the cap: %v", err)
	}
	if c.StateDir != "/efs/state" {
		t.Errorf("loaded state_dir %q", c.StateDir)
	}
	dir := t.TempDir()
	if _, err := config.Load(&cfg{}, config.Options{Path: dir}); err == nil || err.Error() != dir+": is a directory, not a file" {
		t.Errorf("Load of a directory = %v", err)
	}
}

// atCap returns a YAML file of exactly MaxSize bytes: head, then line
// (formatted with a counter) repeated, then tail, padded with a comment.
func atCap(tb testing.TB, head, line, tail string) string {
	tb.Helper()
	var b strings.Builder
	b.WriteString(head)
	for i := 0; line != ""; i++ {
		l := fmt.Sprintf(line, i)
		if b.Len()+len(l)+len(tail)+2 > config.MaxSize {
			break
		}
		b.WriteString(l)
	}
	b.WriteString(tail)
	b.WriteString("#" + strings.Repeat("x", config.MaxSize-b.Len()-2) + "\n")
	if b.Len() != config.MaxSize {
		tb.Fatalf("atCap made %d bytes", b.Len())
	}
	return b.String()
}

// TestLoadAtCapIsFast: time grew with the square of the keys in a mapping
// (yaml.v3 compares every pair for duplicates: 100,000 keys took minutes).
// A file at the cap with ~100,000 keys in one mapping must load in seconds,
// even under the race detector on a busy machine.
func TestLoadAtCapIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 1 MiB files")
	}
	for _, tt := range []struct{ name, head, line string }{
		{"keys of one map", "apps:\n", "  a%d: {}\n"},
		{"unknown keys", "", "k%d: 1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, atCap(t, tt.head, tt.line, ""))
			start := time.Now()
			_, err := config.Load(&cfg{}, config.Options{Path: path})
			took := time.Since(start)
			if tt.head != "" && err != nil {
				t.Fatal(err)
			}
			if took > 20*time.Second {
				t.Errorf("loading %d bytes took %s", config.MaxSize, took)
			}
			t.Logf("%s: %s", tt.name, took)
		})
	}
}

// BenchmarkLoadAtCap measures a load of a 1 MiB file: 40,000 apps.
func BenchmarkLoadAtCap(b *testing.B) {
	path := filepath.Join(b.TempDir(), "bot.yaml")
	if err := os.WriteFile(path, []byte(atCap(b, "apps:\n", "  a%d: {playbook: x.yml, timeout: 1m}\n", "")), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var c cfg
		if _, err := config.Load(&c, config.Options{Path: path}); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzLoad: any bytes give a config or an error, never a panic; an error is
// a *config.Error and echoes no token; the same bytes load the same way.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "errors", "*.yaml"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("apps:\n  api: {playbook: a.yml, timeout: 1m, envs: [dev]}\nadmins: [U1]\n"))
	f.Add([]byte("a: &a {x: 1}\nb: {<<: *a}\n"))
	tokens := regexp.MustCompile(`(?i)\bxox[abposre]-[0-9a-z-]{6,}|\bxapp-[0-9]-[0-9a-z-]{6,}|\b(akia|asia)[a-z0-9]{16}\b|-----begin [a-z ]*private key-----`)
	f.Fuzz(func(t *testing.T, content []byte) {
		var a, b cfg
		_, errA := config.Load(&a, config.Options{Path: "bot.yaml", Content: content})
		_, errB := config.Load(&b, config.Options{Path: "bot.yaml", Content: content})
		if (errA == nil) != (errB == nil) || errA != nil && errA.Error() != errB.Error() {
			t.Fatalf("two loads differ: %v / %v", errA, errB)
		}
		if errA == nil {
			if diff := cmp.Diff(a, b); diff != "" {
				t.Fatalf("two loads differ:\n%s", diff)
			}
			return
		}
		var ce *config.Error
		if !errors.As(errA, &ce) {
			t.Fatalf("error %T is not a *config.Error: %v", errA, errA)
		}
		if m := tokens.FindString(errA.Error()); m != "" {
			t.Fatalf("the error echoes %q: %v", m, errA)
		}
	})
}

func TestLoadNeedsStructPointer(t *testing.T) {
	var c cfg
	if _, err := config.Load(c, config.Options{Path: "x"}); err == nil {
		t.Error("Load of a non-pointer succeeded")
	}
}

// TestLoadAcceptsSecretShapedNonSecrets: a git SHA (40 hex characters)
// and paths of exactly 40 base64-like characters, as temp dirs and EFS paths
// can be, are not AWS secrets.
func TestLoadAcceptsSecretShapedNonSecrets(t *testing.T) {
	for _, v := range []string{"3d3c42e5aac5ba805825da76410c181273ba90b1", "/tmp/TestEndToEnd120592250/002/playbooks", "./efs/state/AnsibleBot2/deploys/Logs20261"} {
		path := write(t, "state_dir: "+v+"\n")
		if _, err := config.Load(&cfg{}, config.Options{Path: path}); err != nil {
			t.Errorf("%s was taken for a secret: %v", v, err)
		}
	}
}
