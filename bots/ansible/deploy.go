package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/gitx"
	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/jobs"
	"github.com/botfleet/botfleet/pkg/flock"
)

// playbooksLock, in the state directory's locks/, serializes updates of
// the playbook repo and its worktrees across instances (the path the bot
// used before its deploys were jobs, so that both agree during the
// rollout).
const playbooksLock = "playbooks.lock"

func (d *deployer) deploy(ctx context.Context, req *botkit.Request) error {
	cfg := d.live.Load()
	// The values the access check saw, made once when the message was
	// parsed: never re-derived here (strings.ToLower("İ") is "i").
	appName, branch, env := req.Arg("app"), req.Arg("branch"), req.Arg("env")
	app, ok := cfg.Apps[appName]
	if !ok {
		return botkit.Userf("I don't know the app `%s`. Apps: %s. Try `apps`.", botkit.Escape(clip(appName, 40)), appList(cfg))
	}
	envs := app.envs()
	if env == "" {
		if env = app.defaultEnv(); env == "" {
			return botkit.Userf("`%s` has no default environment: say `deploy %s %s to &lt;env&gt;`, with one of %s.", appName, appName, botkit.Escape(clip(branch, 60)), strings.Join(envs, ", "))
		}
	}
	if !slices.Contains(envs, env) {
		return botkit.Userf("`%s` cannot be deployed to `%s`; its environments are %s.", appName, botkit.Escape(clip(env, 40)), strings.Join(envs, ", "))
	}
	if err := checkTools(cfg); err != nil {
		return err
	}
	git, err := d.git(cfg)
	if err != nil {
		return err
	}
	if err := git.CheckBranch(ctx, branch); err != nil {
		var be *gitx.BranchError
		if errors.As(err, &be) {
			return botkit.Userf("Refused the branch `%s`: %s. Nothing was run.", botkit.Escape(clip(branch, 60)), be.Reason)
		}
		return err
	}
	if app.Repo != "" {
		exists, err := git.BranchExists(ctx, app.Repo, branch)
		if err != nil {
			return fmt.Errorf("checking branch %s of %s: %w", branch, appName, err)
		}
		if !exists {
			return botkit.Userf("There is no branch `%s` in %s's repo. Nothing was run.", branch, appName)
		}
	}
	sp := jobs.Spec{Kind: "deploy", Key: lockKey(appName, env), Subject: fmt.Sprintf("`%s` in *%s*", appName, env),
		Title: fmt.Sprintf("deploying `%s` of `%s` to *%s*", botkit.Escape(branch), appName, env),
		Args:  map[string]string{"app": appName, "env": env, "branch": branch}}
	err = d.jobs.Run(ctx, req, sp, func(jctx context.Context, j *jobs.Job) error {
		return d.execute(ctx, jctx, req, cfg, git, app, j)
	})
	var end *deployEnd
	if errors.As(err, &end) {
		return nil // the deploy's message says how it ended
	}
	return err
}

// deployEnd is how a deploy that did not succeed ended, as the job's
// error: its message says it, so the command answers nothing more.
type deployEnd struct {
	msg string
	err error // the cause: context.DeadlineExceeded for a timeout
}

func (e *deployEnd) Error() string { return e.msg }
func (e *deployEnd) Unwrap() error { return e.err }

// execute checks the playbooks out and runs ansible-playbook as job j,
// editing its message as the play goes; the message's last edit and the
// log's upload are the job's (endText). ctx is the command's, jctx the
// job's, which a cancel ends too.
func (d *deployer) execute(ctx, jctx context.Context, req *botkit.Request, cfg *Config, git gitx.Git, app App, j *jobs.Job) error {
	r := &run{dp: view(j.Record()), interval: cfg.ProgressInterval}
	d.mu.Lock()
	d.active[r.dp.ID] = r
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.active, r.dp.ID)
		d.mu.Unlock()
	}()
	dp := r.dp
	j.Progress(jctx, fmt.Sprintf("⏳ Deploying `%s` `%s` → *%s* for <@%s>… (deploy #%d)", dp.app, dp.branch, dp.env, dp.User, dp.ID))
	// The last words are recorded even when jctx is done: a cancelled
	// deploy says at which task.
	final := context.WithoutCancel(jctx)
	data := deployData{Owner: d.self}
	data.Owner.Tag = proc.NewTag()
	fail := func(err error) error {
		if missing, ok := missingTool(err); ok {
			req.Log().Error("deploy could not run", "deploy", dp.ID, "err", err)
			return &deployEnd{msg: missing, err: err}
		}
		req.Log().Error("deploy could not run", "deploy", dp.ID, "err", err)
		return &deployEnd{msg: "the bot could not run it (ref " + req.CorrelationID + ")", err: err}
	}

	runDir := d.jobs.Store().JobDir(dp.ID)
	if err := os.MkdirAll(runDir, 0o750); err != nil {
		return fail(err)
	}
	wt := filepath.Join(runDir, "worktree")
	repoDir, err := filepath.Abs(cfg.Playbooks.Path)
	if err != nil {
		return fail(err)
	}
	// The lock the bot's version before jobs took for the app and env:
	// held too, so that during the rollout that upgrades, a deploy of the
	// old pod and one of the new never run at once. (To remove once no
	// deployment runs that version.)
	lockDir := filepath.Join(d.stateDir, "locks")
	if err := os.MkdirAll(lockDir, 0o750); err != nil {
		return fail(err)
	}
	legacy, err := d.locks.TryLock(filepath.Join(lockDir, lockKey(dp.app, dp.env)+".lock"))
	if errors.Is(err, flock.ErrHeld) {
		return &deployEnd{msg: fmt.Sprintf("the bot's previous version is deploying `%s` to *%s*: deploy again when it is done", dp.app, dp.env), err: err}
	}
	if err != nil {
		return fail(err)
	}
	defer legacy.Release()
	repoLock, err := d.locks.Wait(jctx, filepath.Join(lockDir, playbooksLock), 50*time.Millisecond)
	if err != nil {
		return fail(err)
	}
	sha, err := git.Checkout(jctx, gitx.Repo{Dir: repoDir, Remote: cfg.Playbooks.Remote, Ref: cfg.Playbooks.Ref}, wt)
	repoLock.Release()
	if err != nil {
		return fail(fmt.Errorf("checking out the playbooks: %w", err))
	}
	defer gitx.Remove(wt)
	data.Commit = sha
	if err := j.SetData(jctx, data); err != nil {
		req.Log().Warn("recording the playbooks' commit", "deploy", dp.ID, "err", err)
	}

	vars, err := json.Marshal(map[string]any{
		app.branchVar(): dp.branch, "deploy_app": dp.app, "deploy_env": dp.env,
		"deploy_id": dp.ID, "deploy_user": dp.User,
	})
	if err != nil {
		return fail(err)
	}
	varsFile := filepath.Join(runDir, "extra-vars.json")
	if err := os.WriteFile(varsFile, vars, 0o600); err != nil {
		return fail(err)
	}
	args := []string{"-i", filepath.Join(wt, app.Inventories[dp.env]), "-e", "@" + varsFile}
	if p := cfg.Credentials.VaultPasswordFile; p != "" {
		p, _ = filepath.Abs(p)
		args = append(args, "--vault-password-file", p)
	}
	if p := cfg.Credentials.PrivateKeyFile; p != "" {
		p, _ = filepath.Abs(p)
		args = append(args, "--private-key", p)
	}
	args = append(args, filepath.Join(wt, app.Playbook))
	env, err := d.childEnv(cfg)
	if err != nil {
		return fail(err)
	}
	logw := j.Writer()
	fmt.Fprintf(logw, "# deploy #%d: %s %s -> %s by %s; playbooks %s at %s\n", dp.ID, dp.app, dp.branch, dp.env, dp.User, cfg.Playbooks.Ref, sha)

	runCtx, cancelTimeout := context.WithTimeoutCause(jctx, app.timeout(), errTimeout)
	defer cancelTimeout()
	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	go func() {
		defer close(progressStopped)
		r.progress(jctx, j, progressDone)
	}()
	code, runErr := proc.Run(runCtx, proc.Cmd{
		Path: cfg.AnsiblePlaybook, Args: args, Dir: wt, Env: env, Grace: cfg.CancelGrace,
		Output: logw, Line: r.feed, Tag: data.Owner.Tag,
		// ansible-playbook keeps the deploy's lock file open, so the app
		// and env stay locked while it runs even if this bot dies: a bot
		// on another host, which cannot see its processes, trusts the lock.
		Files: []*os.File{j.LockFile(), legacy.File()},
		Started: func(id proc.ID) {
			// A bot restarted on this host finds the playbook by it.
			data.Owner.Run = process(id)
			if err := j.SetData(jctx, data); err != nil {
				req.Log().Warn("recording the playbook's process", "deploy", dp.ID, "err", err)
			}
		},
	})
	close(progressDone)
	<-progressStopped
	if runErr != nil {
		return fail(runErr)
	}

	res := r.finish()
	data.Recap = res.Recap
	var end error
	switch cause := context.Cause(runCtx); {
	case ctx.Err() != nil:
		data.Task = res.Task
		end = &jobs.CancelledError{By: "shutdown", Err: &deployEnd{msg: "stopped by the bot's shutdown", err: ctx.Err()}}
	case jctx.Err() != nil: // a cancel: the job records by whom
		data.Task = res.Task
		end = &deployEnd{msg: "cancelled", err: context.Cause(jctx)}
	case errors.Is(cause, errTimeout):
		data.Task = res.Task
		end = &deployEnd{msg: fmt.Sprintf("stopped after %s, the app's timeout", app.timeout()), err: context.DeadlineExceeded}
	case code == 0:
	case res.Failure != nil:
		data.Task, data.Host = res.Failure.Task, res.Failure.Host
		end = &deployEnd{msg: failureText(res.Failure)}
	case res.Error != "":
		end = &deployEnd{msg: res.Error}
	default:
		end = &deployEnd{msg: fmt.Sprintf("ansible-playbook exited with code %d", code)}
	}
	if err := j.SetData(final, data); err != nil {
		req.Log().Error("recording a deploy's outcome", "deploy", dp.ID, "err", err)
	}
	req.Log().Info("deploy done", "deploy", dp.ID, "app", dp.app, "env", dp.env, "branch", dp.branch,
		"exit_code", code, "err", end)
	return end
}

// progress edits the deploy's message as the play advances, at most once
// per interval, until done.
func (r *run) progress(ctx context.Context, j *jobs.Job, done <-chan struct{}) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		j.Progress(ctx, r.progressText(time.Now()))
	}
}

// run is a deploy this instance runs. It is safe for concurrent use.
type run struct {
	dp       deploy // as it started
	interval time.Duration

	mu     sync.Mutex
	parser playbook.Parser
}

func (r *run) feed(line string) {
	r.mu.Lock()
	r.parser.Feed(line)
	r.mu.Unlock()
}

func (r *run) finish() playbook.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.parser.Finish()
}

// progressText is the deploy's message while it runs.
func (r *run) progressText(now time.Time) string {
	r.mu.Lock()
	st := r.parser.State()
	r.mu.Unlock()
	dp := r.dp
	var sb strings.Builder
	fmt.Fprintf(&sb, "⏳ Deploy #%d: `%s` `%s` → *%s* for <@%s>, running for %s", dp.ID, dp.app, dp.branch, dp.env, dp.User, dp.Duration(now).Round(time.Second))
	switch {
	case st.Task != "":
		fmt.Fprintf(&sb, "\nTask %d: `%s`", st.Tasks, botkit.Escape(clip(st.Task, 200)))
	case st.Tasks == 0:
		sb.WriteString("\nStarting ansible-playbook…")
	}
	fmt.Fprintf(&sb, "\nok %d · changed %d · failed %d · unreachable %d · skipped %d", st.OK, st.Changed, st.Failed, st.Unreachable, st.Skipped)
	if st.Failure != nil {
		fmt.Fprintf(&sb, "\nFailed: `%s` on `%s`", botkit.Escape(clip(st.Failure.Task, 200)), botkit.Escape(st.Failure.Host))
	}
	fmt.Fprintf(&sb, "\nStop it with `cancel %d`.", dp.ID)
	return sb.String()
}

// endText is the deploy's message once it ended, in its process or found
// interrupted by another (jobs.Options.EndText).
func endText(rec jobs.Record) string {
	dp := view(rec)
	var sb strings.Builder
	head := fmt.Sprintf("Deploy #%d: `%s` `%s` → *%s* for <@%s>", dp.ID, dp.app, dp.branch, dp.env, dp.User)
	dur := dp.Duration(time.Now()).Round(time.Second)
	task := ""
	if dp.Task != "" {
		task = fmt.Sprintf(", during task `%s`", botkit.Escape(clip(dp.Task, 200)))
	}
	switch dp.Status {
	case jobs.Succeeded:
		fmt.Fprintf(&sb, "✅ %s succeeded in %s.", head, dur)
	case jobs.Failed:
		if dp.Task != "" {
			fmt.Fprintf(&sb, "❌ %s failed in %s at task `%s`", head, dur, botkit.Escape(clip(dp.Task, 200)))
			if dp.Host != "" {
				fmt.Fprintf(&sb, " on `%s`", botkit.Escape(dp.Host))
			}
			sb.WriteString(":")
		} else {
			fmt.Fprintf(&sb, "❌ %s failed in %s:", head, dur)
		}
		if dp.Error != "" {
			sb.WriteString("\n```\n" + strings.ReplaceAll(botkit.Escape(dp.Error), "```", "ˋˋˋ") + "\n```")
		}
	case jobs.Cancelled:
		if dp.CancelledBy == "shutdown" {
			fmt.Fprintf(&sb, "⏹ %s was stopped after %s%s: the bot was shutting down. Deploy again when it is back.", head, dur, task)
		} else {
			fmt.Fprintf(&sb, "⏹ %s was cancelled by <@%s> after %s%s.", head, dp.CancelledBy, dur, task)
		}
	case jobs.TimedOut:
		fmt.Fprintf(&sb, "⏱ %s timed out: %s%s.", head, dp.Error, task)
	case jobs.Interrupted:
		fmt.Fprintf(&sb, "⚠️ %s was interrupted: %s. The playbook may have run in part; check, and deploy again.", head, dp.Error)
	default:
		fmt.Fprintf(&sb, "⚠️ %s: %s.", head, dp.Status)
	}
	if len(dp.Recap) > 0 {
		sb.WriteString("\n```\nPLAY RECAP")
		for _, h := range dp.Recap {
			sb.WriteString("\n" + botkit.Escape(h.String()))
		}
		sb.WriteString("\n```")
	}
	if dp.Commit != "" {
		fmt.Fprintf(&sb, "\nPlaybooks at `%.12s`.", dp.Commit)
	}
	return sb.String()
}

func failureText(f *playbook.Failure) string {
	msg := f.Msg
	if f.Item != "" {
		msg = "item " + f.Item + ": " + msg
	}
	if msg == "" {
		msg = "no message"
	}
	return msg
}
