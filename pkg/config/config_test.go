package config_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/config"
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
	_, err = config.Load(&cfg{}, config.Options{Path: missing, Required: true})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), missing) {
		t.Errorf("Load of a missing required file = %v, want an error naming it", err)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		environ    []string
		want       []string // substrings of the error
	}{
		{"unknown key", "state_dir: /x\nworkrs: 3\n", nil, []string{"key workrs", "unknown key"}},
		{"unknown nested key", "apps:\n  api:\n    playbok: x.yml\n", nil, []string{"apps[api].playbok", "unknown key"}},
		{"wrong type", "workers: many\n", nil, []string{"workers", "int"}},
		{"bad duration", "apps:\n  api:\n    playbook: a.yml\n    timeout: soon\n", nil, []string{"apps[api].timeout", "invalid duration"}},
		{"broken yaml", "apps: [\n", nil, []string{"not valid YAML"}},
		{"tab indentation", "apps:\n\tapi: {}\n", nil, []string{"not valid YAML"}},
		{"validate with key", "apps:\n  api:\n    timeout: 1m\n", nil, []string{"key apps.api.playbook", "is required"}},
		{"validate plain", "workers: 0\n", nil, []string{"workers: must be at least 1"}},
		{"unknown env override", "", []string{"BOT_CFG_WORKRS=3"}, []string{"BOT_CFG_WORKRS matches no config key", "BOT_CFG_WORKERS"}},
		{"bad env value", "", []string{"BOT_CFG_WORKERS=lots"}, []string{"workers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.yaml)
			_, err := config.Load(&cfg{}, config.Options{Path: path, Environ: tt.environ})
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *config.Error", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadNeedsStructPointer(t *testing.T) {
	var c cfg
	if _, err := config.Load(c, config.Options{Path: "x"}); err == nil {
		t.Error("Load of a non-pointer succeeded")
	}
}

func TestLoadRefusesSecrets(t *testing.T) {
	tests := []struct{ name, yaml, key string }{
		{"slack bot token", "state_dir: xoxb-12345-notarealtoken\n", "state_dir"},
		{"slack app token", "audit:\n  channel: xapp-1-A0123-456789-abcdef\n", "audit.channel"},
		{"aws key id", "admins: [U1, AKIAIOSFODNN7EXAMPLE]\n", "admins[1]"},
		{"aws secret", "apps:\n  api:\n    playbook: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "apps.api.playbook"},
		{"aws secret under a secret-ish key, even like a path", "aws_secret: /JalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", "aws_secret"},
		{"private key", "state_dir: \"-----BEGIN OPENSSH PRIVATE KEY-----\\nabc\"\n", "state_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := write(t, tt.yaml)
			_, err := config.Load(&cfg{}, config.Options{Path: path})
			if err == nil || !strings.Contains(err.Error(), "key "+tt.key+":") || !strings.Contains(err.Error(), "secrets go in the environment") {
				t.Fatalf("Load = %v, want a refusal naming key %s", err, tt.key)
			}
			for _, leak := range []string{"xoxb-12345-notareal", "xapp-1-A0123", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI", "abc"} {
				if strings.Contains(err.Error(), leak) && strings.Contains(tt.yaml, leak) && leak != "abc" {
					t.Errorf("the error echoes the secret: %v", err)
				}
			}
		})
	}
	// Same shapes that are not secrets: a git SHA (40 hex characters) and
	// paths of exactly 40 base64-like characters, as temp dirs and EFS paths
	// can be.
	for _, v := range []string{"3d3c42e5aac5ba805825da76410c181273ba90b1", "/tmp/TestEndToEnd120592250/002/playbooks", "./efs/state/AnsibleBot2/deploys/Logs20261"} {
		path := write(t, "state_dir: "+v+"\n")
		if _, err := config.Load(&cfg{}, config.Options{Path: path}); err != nil {
			t.Errorf("%s was taken for a secret: %v", v, err)
		}
	}
}
