package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// Config is the ansible bot's config file (config/local.yaml, or
// /efs/config/ansible/<env>.yaml in a pod). It holds paths and names only:
// credentials are files mounted from a Kubernetes Secret, named here.
type Config struct {
	// Settings are botkit's: access rules, audit channel, rate limit.
	botkit.Settings `yaml:",inline"`

	Playbooks PlaybookRepo `yaml:"playbooks"`
	// AnsiblePlaybook is the program to run (looked up in PATH).
	AnsiblePlaybook string `yaml:"ansible_playbook"`
	// Admins may cancel anyone's deploy (Slack user IDs).
	Admins []string `yaml:"admins"`
	// ProgressInterval is the least time between two edits of a deploy's
	// progress message (Slack allows about one update a second per
	// channel).
	ProgressInterval time.Duration `yaml:"progress_interval"`
	// CancelGrace is how long ansible-playbook has to stop after SIGINT
	// before its process group gets SIGKILL.
	CancelGrace time.Duration  `yaml:"cancel_grace"`
	Credentials Credentials    `yaml:"credentials"`
	Apps        map[string]App `yaml:"apps"`
}

// PlaybookRepo is where the playbooks come from.
type PlaybookRepo struct {
	// Path is a git work tree used as it is or, with Remote, the cache
	// directory the remote is cloned into and fetched before each run.
	Path   string `yaml:"path"`
	Remote string `yaml:"remote"`
	// Ref is the branch, tag or commit of the playbook repo to run.
	Ref string `yaml:"ref"`
}

// Credentials are files mounted from a Secret; their contents are never
// read into the config, logged or shown.
type Credentials struct {
	// SSHKeyFile and KnownHostsFile are git's SSH key and the pinned
	// host keys of the git servers (both, or neither).
	SSHKeyFile     string `yaml:"ssh_key_file"`
	KnownHostsFile string `yaml:"known_hosts_file"`
	// GitTokenFile holds an HTTPS token, given to git through GIT_ASKPASS.
	GitTokenFile string `yaml:"git_token_file"`
	// VaultPasswordFile is passed as --vault-password-file.
	VaultPasswordFile string `yaml:"vault_password_file"`
	// PrivateKeyFile is passed as --private-key (ansible's SSH to hosts).
	PrivateKeyFile string `yaml:"private_key_file"`
}

// App is one deployable app.
type App struct {
	// Playbook is the playbook's path inside the playbook repo.
	Playbook string `yaml:"playbook"`
	// Inventories maps each environment to its inventory's path inside
	// the playbook repo.
	Inventories map[string]string `yaml:"inventories"`
	// Envs, if set, narrows the environments to these (of Inventories).
	Envs []string `yaml:"envs"`
	// DefaultEnv is used when the command names none.
	DefaultEnv string `yaml:"default_env"`
	// BranchVar is the extra var that receives the branch.
	BranchVar string `yaml:"branch_var"`
	// Repo, if set, is the app's git URL: the branch must exist there
	// (git ls-remote).
	Repo    string        `yaml:"repo"`
	Timeout time.Duration `yaml:"timeout"`
}

// RetiredKeys implements config.Retirer.
func (c *Config) RetiredKeys() map[string]string {
	keys := c.Settings.RetiredKeys()
	keys["state_dir"] = "deploys are jobs, kept in $BOT_STATE_DIR/jobs: set BOT_STATE_DIR (the bot's state directory, /efs/state/ansible in a pod; the history of the old state_dir there is imported at start) instead"
	return keys
}

// Defaults and bounds.
const (
	DefaultProgressInterval = 2 * time.Second
	DefaultCancelGrace      = 10 * time.Second
	DefaultTimeout          = 30 * time.Minute
	DefaultBranchVar        = "app_branch"
	// MaxTimeout bounds an app's timeout; the deploy command's own
	// timeout in botkit is above it.
	MaxTimeout = 6 * time.Hour
)

// SetDefaults implements config.Defaulter.
func (c *Config) SetDefaults() {
	c.Playbooks.Ref = "main"
	c.AnsiblePlaybook = "ansible-playbook"
	c.ProgressInterval = DefaultProgressInterval
	c.CancelGrace = DefaultCancelGrace
}

var (
	nameRE  = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,38}[a-z0-9])?$`)
	varRE   = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]{0,63}$`)
	pathRE  = regexp.MustCompile(`^[A-Za-z0-9_./@:+=-]+$`) // paths that need no quoting in GIT_SSH_COMMAND
	userRE  = regexp.MustCompile(`^[UW][A-Z0-9]+$`)
	reserve = []string{"to"} // a word of the deploy pattern
)

// Validate implements config.Validator. Errors name the key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("key %s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Playbooks.Path == "" {
		bad("playbooks.path", "is required (a git work tree, or the cache dir of playbooks.remote)")
	}
	if c.Playbooks.Ref == "" || strings.HasPrefix(c.Playbooks.Ref, "-") {
		bad("playbooks.ref", "must be a branch, tag or commit")
	}
	if strings.HasPrefix(c.Playbooks.Remote, "-") {
		bad("playbooks.remote", "must be a git URL")
	}
	if c.AnsiblePlaybook == "" {
		bad("ansible_playbook", "must not be empty")
	}
	for _, u := range c.Admins {
		if !userRE.MatchString(u) {
			bad("admins", "%q is not a Slack user ID (U…)", u)
		}
	}
	if c.ProgressInterval < 100*time.Millisecond {
		bad("progress_interval", "must be at least 100ms (Slack rate-limits edits)")
	}
	if c.CancelGrace <= 0 {
		bad("cancel_grace", "must be positive")
	}
	cr := c.Credentials
	for key, p := range map[string]string{
		"credentials.ssh_key_file": cr.SSHKeyFile, "credentials.known_hosts_file": cr.KnownHostsFile,
		"credentials.git_token_file": cr.GitTokenFile, "credentials.vault_password_file": cr.VaultPasswordFile,
		"credentials.private_key_file": cr.PrivateKeyFile,
	} {
		if p != "" && (!filepath.IsAbs(p) && !strings.HasPrefix(p, ".") || !pathRE.MatchString(p)) {
			bad(key, "must be a path of plain characters (letters, digits, . _ / -)")
		}
	}
	if (cr.SSHKeyFile == "") != (cr.KnownHostsFile == "") {
		bad("credentials.known_hosts_file", "ssh_key_file and known_hosts_file go together (host keys are pinned)")
	}
	if len(c.Apps) == 0 {
		bad("apps", "name at least one app")
	}
	for name, a := range c.Apps {
		key := "apps[" + name + "]"
		if !nameRE.MatchString(name) || slices.Contains(reserve, name) {
			bad(key, "an app name is lowercase letters, digits, - and _ (at most 40)")
		}
		if a.Playbook == "" {
			bad(key+".playbook", "is required")
		} else if !local(a.Playbook) {
			bad(key+".playbook", "must be a relative path inside the playbook repo")
		}
		if len(a.Inventories) == 0 {
			bad(key+".inventories", "name an inventory for at least one environment")
		}
		for env, inv := range a.Inventories {
			if !nameRE.MatchString(env) || slices.Contains(reserve, env) {
				bad(key+".inventories["+env+"]", "an environment name is lowercase letters, digits, - and _")
			}
			if !local(inv) {
				bad(key+".inventories["+env+"]", "must be a relative path inside the playbook repo")
			}
		}
		for _, env := range a.Envs {
			if _, ok := a.Inventories[env]; !ok {
				bad(key+".envs", "%q has no inventory in %s.inventories", env, key)
			}
		}
		if a.DefaultEnv != "" && !slices.Contains(a.envs(), a.DefaultEnv) {
			bad(key+".default_env", "%q is not one of the app's environments (%s)", a.DefaultEnv, strings.Join(a.envs(), ", "))
		}
		if a.BranchVar != "" && !varRE.MatchString(a.BranchVar) {
			bad(key+".branch_var", "must be a variable name (letters, digits, _)")
		}
		if strings.HasPrefix(a.Repo, "-") {
			bad(key+".repo", "must be a git URL")
		}
		if a.Timeout < 0 || a.Timeout > MaxTimeout {
			bad(key+".timeout", "must be between 0 (the default, %s) and %s", DefaultTimeout, MaxTimeout)
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// local reports whether p is a relative path that stays inside its base.
func local(p string) bool { return filepath.IsLocal(p) && !strings.HasPrefix(p, "-") }

// envs returns the app's environments, sorted.
func (a App) envs() []string {
	if len(a.Envs) > 0 {
		return slices.Sorted(slices.Values(a.Envs))
	}
	out := make([]string, 0, len(a.Inventories))
	for env := range a.Inventories {
		out = append(out, env)
	}
	slices.Sort(out)
	return out
}

// defaultEnv is the environment used when the command names none ("" if
// the app has no default).
func (a App) defaultEnv() string { return a.DefaultEnv }

func (a App) branchVar() string {
	if a.BranchVar == "" {
		return DefaultBranchVar
	}
	return a.BranchVar
}

func (a App) timeout() time.Duration {
	if a.Timeout == 0 {
		return DefaultTimeout
	}
	return a.Timeout
}
