package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/gitx"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/flock"
)

// historyShown is how many deploys `history` lists.
const historyShown = 10

// appsScanned bounds how many of the last deploys `apps` reads to say what
// is deployed where.
const appsScanned = 10000

// deployer holds what the commands share: the config, the jobs (deploys
// are jobs of kind deploy, package jobs) and the deploys this instance runs
// or watches. It is safe for concurrent use.
type deployer struct {
	live *botkit.Live[Config]
	log  *slog.Logger
	jobs *jobs.Manager
	// stateDir is BOT_STATE_DIR: the playbook repo's lock is there.
	stateDir string
	locks    flock.Set
	// self is this process, as deploys record where they run.
	self owner

	mu      sync.Mutex
	active  map[int64]*run
	orphans map[int64]*orphan // deploys of a dead instance whose playbook runs on here
	askpass string            // the GIT_ASKPASS helper, once written
}

func setup(ctx context.Context, b *botkit.Bot, live *botkit.Live[Config], env botkit.Env) error {
	log := env.Log()
	dir, err := jobs.Dir(env)
	if err != nil {
		return err
	}
	d := &deployer{live: live, log: log, stateDir: env.StateDir, self: selfOwner(log),
		active: map[int64]*run{}, orphans: map[int64]*orphan{}}
	requireTools(b, live)
	b.Command("deploy {app:name} {branch:plain} [to {env:name}]", d.deploy,
		botkit.Describe("Deploy a branch of an app to an environment (default: the app's)"),
		// Before the access check, so a rule on env=prd also holds when prd
		// is an app's default.
		botkit.Default("env", d.defaultEnv),
		botkit.Example("deploy api feature/login to dev"), botkit.Example("deploy api main"),
		// Each app's own timeout stops the playbook; this only bounds the
		// command around it.
		botkit.Timeout(MaxTimeout+time.Hour))
	b.Command("apps", d.apps, botkit.Describe("List the apps, their environments and what is deployed where"))
	b.Command("status [{id}]", d.status, botkit.Describe("Show the running deploys and their progress, or one deploy"), botkit.Example("status 42"))
	b.Command("cancel {id}", d.cancel, botkit.Describe("Stop a running deploy (yours; admins may stop any)"), botkit.Example("cancel 42"))
	b.Command("history [{app:name}] [{env:name}]", d.history, botkit.Describe("Show the last deploys, of an app, an environment or both"), botkit.Example("history api dev"))
	d.jobs, err = jobs.New(b, jobs.Options{Dir: dir, Log: log, Noun: "deploy", EndText: endText, OwnCommands: true,
		MayCancel: func() jobs.Principals { return jobs.Principals{Users: live.Load().Admins} },
		Orphan:    d.orphanWatch})
	if err != nil {
		return err
	}
	if err := importLegacy(ctx, d.jobs.Store(), env.StateDir); err != nil {
		return fmt.Errorf("importing the deploys of the bot's previous history: %w", err)
	}
	return nil
}

// defaultEnv is the environment of a deploy that names none: the app's
// default ("" for an unknown app or one without, which deploy explains).
func (d *deployer) defaultEnv(req *botkit.Request) string {
	app, ok := d.live.Load().Apps[req.Arg("app")]
	if !ok {
		return ""
	}
	return app.defaultEnv()
}

func lockKey(app, env string) string { return "deploy." + app + "." + env }

// git returns the git runner, with the credentials of cfg.
func (d *deployer) git(cfg *Config) (gitx.Git, error) {
	env, err := d.childEnv(cfg)
	return gitx.Git{Env: env}, err
}

// childEnv is the whole environment of git and ansible-playbook: an
// allowlist of the bot's own (never SLACK_* or AWS_*), fixed settings, and
// the credential files' paths.
func (d *deployer) childEnv(cfg *Config) ([]string, error) {
	home := os.Getenv("HOME")
	if home == "" {
		home = os.TempDir()
	}
	env := []string{
		"HOME=" + home,
		"LANG=C.UTF-8",
		"PYTHONUNBUFFERED=1", // progress as it happens, not when a buffer fills
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_STDOUT_CALLBACK=default", // the parser's format, whatever ansible.cfg says
		"ANSIBLE_CALLBACK_RESULT_FORMAT=json",
		"ANSIBLE_RETRY_FILES_ENABLED=0",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ALLOW_PROTOCOL=file:git:http:https:ssh", // no ext:: commands through a URL
	}
	for _, k := range []string{"PATH", "TMPDIR", "TZ", "ANSIBLE_LOCAL_TEMP", "ANSIBLE_REMOTE_TEMP", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	cr := cfg.Credentials
	if cr.SSHKeyFile != "" {
		key, _ := filepath.Abs(cr.SSHKeyFile)
		kh, _ := filepath.Abs(cr.KnownHostsFile)
		// Paths are plain characters (Validate), so git's shell needs no quoting.
		env = append(env, "GIT_SSH_COMMAND=ssh -i "+key+" -o IdentitiesOnly=yes -o UserKnownHostsFile="+kh+" -o StrictHostKeyChecking=yes -o BatchMode=yes")
	}
	if cr.GitTokenFile != "" {
		helper, err := d.askpassHelper()
		if err != nil {
			return nil, err
		}
		tok, _ := filepath.Abs(cr.GitTokenFile)
		env = append(env, "GIT_ASKPASS="+helper, "BOTFLEET_GIT_TOKEN_FILE="+tok)
	}
	return env, nil
}

// askpassScript answers git's prompts: a fixed user name, and the token
// read from the mounted file at the moment git asks, so the token is never
// in an environment, an argument or a log.
const askpassScript = `#!/bin/sh
case "$1" in
Username*) echo x-access-token ;;
*) cat "$BOTFLEET_GIT_TOKEN_FILE" ;;
esac
`

func (d *deployer) askpassHelper() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.askpass != "" {
		return d.askpass, nil
	}
	dir, err := os.MkdirTemp("", "ansible-bot-")
	if err != nil {
		return "", fmt.Errorf("writing the askpass helper: %w", err)
	}
	p := filepath.Join(dir, "askpass")
	if err := os.WriteFile(p, []byte(askpassScript), 0o700); err != nil {
		return "", fmt.Errorf("writing the askpass helper: %w", err)
	}
	d.askpass = p
	return p, nil
}

func (d *deployer) apps(ctx context.Context, req *botkit.Request) error {
	cfg := d.live.Load()
	last := map[string]deploy{} // app.env -> its deploy of the largest number
	n := 0
	err := d.jobs.Store().Each(func(r jobs.Record) bool {
		dp := view(r)
		if cur, ok := last[dp.app+"."+dp.env]; !ok || cur.ID < dp.ID {
			last[dp.app+"."+dp.env] = dp
		}
		n++
		return n < appsScanned
	})
	if err != nil {
		return err
	}
	var sb strings.Builder
	sb.WriteString("*Apps* (`deploy &lt;app&gt; &lt;branch&gt; [to &lt;env&gt;]`):")
	now := time.Now()
	for _, n := range slices.Sorted(mapsKeys(cfg.Apps)) {
		a := cfg.Apps[n]
		fmt.Fprintf(&sb, "\n• *%s*", n)
		for _, env := range a.envs() {
			def := ""
			if env == a.defaultEnv() {
				def = " (default)"
			}
			r, ok := last[n+"."+env]
			if !ok {
				fmt.Fprintf(&sb, "\n    %s%s: never deployed", env, def)
				continue
			}
			fmt.Fprintf(&sb, "\n    %s%s: `%s` by <@%s>, %s — %s (#%d)", env, def, r.branch, r.User, ago(now, r.Started), statusWord(r.Status), r.ID)
		}
	}
	_, err = req.Reply(ctx, sb.String())
	return err
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (d *deployer) status(ctx context.Context, req *botkit.Request) error {
	st := d.jobs.Store()
	if arg := req.Arg("id"); arg != "" {
		id, err := parseID(arg)
		if err != nil {
			return err
		}
		if r := d.running(id); r != nil {
			_, err := req.Reply(ctx, r.progressText(time.Now()))
			return err
		}
		rec, ok, err := st.Record(id)
		if err != nil {
			return err
		}
		if !ok {
			return botkit.Userf("There is no deploy #%d. Try `history`.", id)
		}
		line := recordLine(view(rec), time.Now())
		if o := d.orphan(id); o != nil {
			line += o.note()
		}
		_, err = req.Reply(ctx, line)
		return err
	}
	if err := d.jobs.Sweep(ctx); err != nil {
		req.Log().Warn("recovering the deploys of stopped instances", "err", err)
	}
	recs, err := st.Running()
	if err != nil {
		return err
	}
	var lines []string
	now := time.Now()
	for _, rec := range recs {
		switch r, o := d.running(rec.ID), d.orphan(rec.ID); {
		case r != nil:
			lines = append(lines, r.progressText(now))
		case o != nil:
			lines = append(lines, recordLine(view(rec), now)+o.note())
		default:
			lines = append(lines, recordLine(view(rec), now)+" (on "+rec.Instance+")")
		}
	}
	if len(lines) == 0 {
		_, err = req.Reply(ctx, "No deploys are running.")
		return err
	}
	_, err = req.Reply(ctx, strings.Join(lines, "\n\n"))
	return err
}

func (d *deployer) cancel(ctx context.Context, req *botkit.Request) error {
	cfg := d.live.Load()
	st := d.jobs.Store()
	id, err := parseID(req.Arg("id"))
	if err != nil {
		return err
	}
	running, err := st.Running()
	if err != nil {
		return err
	}
	i := slices.IndexFunc(running, func(r jobs.Record) bool { return r.ID == id })
	if i < 0 {
		rec, ok, err := st.Record(id)
		switch {
		case err != nil:
			return err
		case !ok:
			return botkit.Userf("There is no deploy #%d. Try `status`.", id)
		default:
			return botkit.Userf("Deploy #%d is not running: it ended (%s).", id, statusWord(rec.Status))
		}
	}
	rec := running[i]
	if rec.User != req.User && !slices.Contains(cfg.Admins, req.User) {
		return botkit.Userf("Only <@%s>, who started deploy #%d, or an admin may cancel it.", rec.User, id)
	}
	o := d.orphan(id)
	local, err := d.jobs.Cancel(id, req.User)
	switch {
	case err != nil:
		return err
	case local && o != nil:
		_, err = req.Replyf(ctx, "Cancelling deploy #%d: the bot instance that ran it (%s) stopped, but its playbook still runs here; it gets SIGINT, then SIGKILL after %s.", id, o.instance, cfg.CancelGrace)
	case local:
		_, err = req.Replyf(ctx, "Cancelling deploy #%d: ansible-playbook gets SIGINT, then SIGKILL after %s.", id, cfg.CancelGrace)
	default:
		_, err = req.Replyf(ctx, "Asked the instance running deploy #%d (%s) to cancel it.", id, rec.Instance)
	}
	return err
}

func (d *deployer) history(ctx context.Context, req *botkit.Request) error {
	cfg := d.live.Load()
	app, env := req.Arg("app"), req.Arg("env") // canonical: ASCII, lowercase
	if _, isApp := cfg.Apps[app]; app != "" && !isApp && env == "" && isEnv(cfg, app) {
		app, env = "", app // `history dev`
	}
	if _, ok := cfg.Apps[app]; app != "" && !ok {
		return botkit.Userf("I don't know the app `%s`. Apps: %s.", botkit.Escape(clip(app, 40)), appList(cfg))
	}
	var shown []deploy
	err := d.jobs.Store().Each(func(r jobs.Record) bool {
		if dp := view(r); (app == "" || dp.app == app) && (env == "" || dp.env == env) {
			shown = append(shown, dp)
		}
		return len(shown) < historyShown
	})
	if err != nil {
		return err
	}
	if len(shown) == 0 {
		_, err = req.Reply(ctx, "No deploys yet.")
		return err
	}
	slices.SortFunc(shown, func(a, b deploy) int { return int(b.ID - a.ID) })
	now := time.Now()
	lines := make([]string, len(shown))
	for i, dp := range shown {
		lines[i] = "• " + recordLine(dp, now)
	}
	_, err = req.Reply(ctx, "*Last deploys*, newest first:\n"+strings.Join(lines, "\n"))
	return err
}

func isEnv(cfg *Config, name string) bool {
	for _, a := range cfg.Apps {
		if slices.Contains(a.envs(), name) {
			return true
		}
	}
	return false
}

func appList(cfg *Config) string {
	var names []string
	for n := range cfg.Apps {
		names = append(names, "`"+n+"`")
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, botkit.Userf("`%s` is not a deploy number; deploys are numbered, like `42`.", botkit.Escape(clip(s, 40)))
	}
	return id, nil
}

// orphan returns the deploy id of a dead instance this one watches, or nil.
func (d *deployer) orphan(id int64) *orphan {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.orphans[id]
}

func (d *deployer) running(id int64) *run {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.active[id]
}

// recordLine is one deploy in a list.
func recordLine(r deploy, now time.Time) string {
	line := fmt.Sprintf("#%d `%s` `%s` → *%s* by <@%s>, %s — %s", r.ID, r.app, r.branch, r.env, r.User, ago(now, r.Started), statusWord(r.Status))
	if r.Status == jobs.Running {
		return line + fmt.Sprintf(" for %s", r.Duration(now).Round(time.Second))
	}
	return line + fmt.Sprintf(" in %s", r.Duration(now).Round(time.Second))
}

func statusWord(s jobs.Status) string {
	switch s {
	case jobs.Running:
		return "⏳ running"
	case jobs.Succeeded:
		return "✅ ok"
	case jobs.Failed:
		return "❌ failed"
	case jobs.Cancelled:
		return "⏹ cancelled"
	case jobs.TimedOut:
		return "⏱ timed out"
	case jobs.Interrupted:
		return "⚠️ interrupted"
	}
	return "⚠️ " + string(s)
}

func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.UTC().Format("2006-01-02")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// errTimeout is the cause of a deploy's context when the app's timeout ends it.
var errTimeout = errors.New("the app's timeout passed")
