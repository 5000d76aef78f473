package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/config"
)

const goodConfig = `
playbooks: {path: /efs/playbooks, ref: main}
apps:
  api:
    playbook: deploy-api.yml
    inventories: {dev: inventories/dev.ini, prd: inventories/prd.ini}
    default_env: dev
    timeout: 20m
access:
  rules:
    - {command: deploy, args: {env: prd}, groups: [S123], confirm: true}
`

func load(t *testing.T, yaml string, environ ...string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dev.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	var c Config
	_, err := config.Load(&c, config.Options{Path: path, Required: true, Environ: environ})
	return &c, err
}

func TestConfigLoads(t *testing.T) {
	c, err := load(t, goodConfig, "BOT_CFG_CANCEL_GRACE=3s")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Apps["api"]
	if a.timeout().Minutes() != 20 || a.branchVar() != "app_branch" || c.CancelGrace != 3*time.Second || c.ProgressInterval != DefaultProgressInterval {
		t.Errorf("config = %+v", c)
	}
	if got := strings.Join(a.envs(), ","); got != "dev,prd" {
		t.Errorf("envs = %s", got)
	}
}

func TestBrokenConfig(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"not yaml", "apps: [", "not valid YAML"},
		{"unknown key", goodConfig + "colour: red\n", "key colour: unknown key"},
		{"unknown app key", strings.Replace(goodConfig, "timeout: 20m", "timout: 20m", 1), "key apps[api].timout: unknown key"},
		{"no apps", "playbooks: {path: /p}\n", "key apps: name at least one app"},
		{"the old state_dir", goodConfig + "state_dir: /efs/state/ansible\n", "key state_dir: no longer a config key: deploys are jobs, kept in $BOT_STATE_DIR/jobs: set BOT_STATE_DIR"},
		{"no playbook", strings.Replace(goodConfig, "playbook: deploy-api.yml", "", 1), "key apps[api].playbook: is required"},
		{"playbook outside the repo", strings.Replace(goodConfig, "deploy-api.yml", "../../etc/x.yml", 1), "key apps[api].playbook: must be a relative path inside"},
		{"absolute inventory", strings.Replace(goodConfig, "inventories/dev.ini", "/etc/hosts", 1), "key apps[api].inventories[dev]: must be a relative path"},
		{"unknown default env", strings.Replace(goodConfig, "default_env: dev", "default_env: qa", 1), `key apps[api].default_env: "qa" is not one of`},
		{"bad timeout", strings.Replace(goodConfig, "20m", "7h", 1), "key apps[api].timeout: must be between"},
		{"not a duration", strings.Replace(goodConfig, "20m", "soon", 1), "timeout"},
		{"bad branch var", strings.Replace(goodConfig, "timeout: 20m", "branch_var: 'a b'", 1), "key apps[api].branch_var"},
		{"env outside inventories", strings.Replace(goodConfig, "timeout: 20m", "envs: [dev, qa]", 1), `key apps[api].envs: "qa" has no inventory in apps[api].inventories`},
		{"ssh key without known hosts", goodConfig + "credentials: {ssh_key_file: /secrets/id}\n", "key credentials.known_hosts_file: ssh_key_file and known_hosts_file go together"},
		{"path needing quotes", goodConfig + "credentials: {ssh_key_file: '/a b', known_hosts_file: /k}\n", "key credentials.ssh_key_file: must be a path of plain characters"},
		{"option as ref", strings.Replace(goodConfig, "ref: main", "ref: --upload-pack=x", 1), "key playbooks.ref"},
		{"admin not a user", goodConfig + "admins: [bob]\n", `key admins: "bob" is not a Slack user ID`},
		{"token in the file", goodConfig + "admins: [xoxb-0-not-a-real-token]\n", "secrets go in AWS Secrets Manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestLocalConfig checks the shipped config/local.yaml.
func TestLocalConfig(t *testing.T) {
	var c Config
	if _, err := config.Load(&c, config.Options{Path: filepath.Join("config", "local.yaml"), Required: true}); err != nil {
		t.Fatal(err)
	}
	if c.Playbooks.Path != "../../.local/ansible/playbooks" || c.Apps["demo"].DefaultEnv != "dev" {
		t.Errorf("local config = %+v", c)
	}
}

func TestChildEnvCredentials(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("ghp_secret_value\n"), 0o600)
	d := &deployer{}
	cfg := &Config{Credentials: Credentials{SSHKeyFile: "/secrets/git/id_ed25519", KnownHostsFile: "/secrets/git/known_hosts", GitTokenFile: tokenFile}}
	env, err := d.childEnv(cfg)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(env, "\n")
	for _, want := range []string{"GIT_SSH_COMMAND=ssh -i /secrets/git/id_ed25519 -o IdentitiesOnly=yes -o UserKnownHostsFile=/secrets/git/known_hosts -o StrictHostKeyChecking=yes", "GIT_ASKPASS=", "BOTFLEET_GIT_TOKEN_FILE=" + tokenFile} {
		if !strings.Contains(joined, want) {
			t.Errorf("env lacks %q:\n%s", want, joined)
		}
	}
	if strings.Contains(joined, "ghp_secret_value") || strings.Contains(joined, "SLACK_") {
		t.Errorf("a secret is in the environment:\n%s", joined)
	}
}
