package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/botfleet/botfleet/bots/ansible/internal/gitx"
	"github.com/botfleet/botfleet/bots/ansible/internal/playbook"
	"github.com/botfleet/botfleet/bots/ansible/internal/proc"
	"github.com/botfleet/botfleet/bots/ansible/internal/state"
	"github.com/botfleet/botfleet/pkg/botkit"
)

// maxLogUpload bounds the log attached to the final message; a longer one
// keeps its end, where the failure is.
const maxLogUpload = 4 << 20

// playbooksLock serializes updates of the playbook repo and worktree
// bookkeeping across instances.
const playbooksLock = "playbooks"

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
	st, err := d.store(cfg)
	if err != nil {
		return err
	}
	if req.EventID != "" {
		first, err := st.FirstEvent("deploy:"+req.EventID, eventTTL)
		if err != nil {
			return err
		}
		if !first {
			req.Log().Info("event already handled by an instance; not deploying again")
			return nil
		}
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
	owner := d.self
	owner.Tag = proc.NewTag()
	rec, lock, stale, err := st.Begin(ctx, state.Record{
		Status: state.Running, Key: lockKey(appName, env), App: appName, Env: env, Branch: branch, User: req.User,
		Thread: req.ThreadTS, Owner: owner, Started: time.Now().UTC(),
	})
	var held *state.HeldError
	if errors.As(err, &held) {
		return botkit.Userf("%s", d.busyText(appName, env, held.Holder))
	}
	if err != nil {
		return err
	}
	defer lock.Release()
	for _, old := range stale {
		req.Log().Warn("deploy interrupted", "deploy", old.ID, "app", old.App, "env", old.Env, "instance", old.Instance)
		d.notify(ctx, st, old)
	}

	ref, err := req.Reply(ctx, fmt.Sprintf("⏳ Deploying `%s` `%s` → *%s* for <@%s>… (deploy #%d)", appName, branch, env, req.User, rec.ID))
	if err != nil {
		rec.Status, rec.Ended, rec.Error = state.Errored, time.Now().UTC(), "the bot could not post its progress message (ref "+req.CorrelationID+")"
		if aerr := st.Append(context.WithoutCancel(ctx), rec); aerr != nil {
			req.Log().Error("recording a deploy", "deploy", rec.ID, "err", aerr)
		}
		return err
	}
	// A restart edits the message of a deploy it finds interrupted.
	rec.Channel, rec.Message = ref.Channel, ref.TS
	if err := st.Append(ctx, rec); err != nil {
		req.Log().Warn("recording the progress message", "deploy", rec.ID, "err", err)
	}
	r := &run{rec: rec, interval: cfg.ProgressInterval}
	d.mu.Lock()
	d.active[rec.ID] = r
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.active, rec.ID)
		d.mu.Unlock()
	}()
	return d.execute(ctx, req, cfg, st, git, app, r, ref, lock)
}

// busyText answers a deploy refused because another holds the lock.
func (d *deployer) busyText(app, env string, h *state.Holder) string {
	if h == nil || h.ID == 0 {
		return fmt.Sprintf("`%s` is being deployed to *%s* right now; try again when it is done (`status`).", app, env)
	}
	text := fmt.Sprintf("`%s` is being deployed to *%s* by <@%s> (deploy #%d of `%s`, since %s UTC). Wait for it, or cancel it with `cancel %d`.",
		app, env, h.User, h.ID, botkit.Escape(h.Branch), h.Since.UTC().Format("15:04:05"), h.ID)
	if d.orphan(h.ID) != nil {
		text += " The bot instance that ran it stopped, but its playbook still runs: the deploy stays locked until it ends."
	}
	return text
}

// execute checks the playbooks out, runs ansible-playbook, reports progress
// and the result, and records it.
func (d *deployer) execute(ctx context.Context, req *botkit.Request, cfg *Config, st *state.Store, git gitx.Git, app App, r *run, ref botkit.MessageRef, lock *state.Lock) error {
	// The last words (Slack edits, the history) are said even when ctx
	// is done: a cancelled deploy must be recorded as such.
	final, cancelFinal := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancelFinal()
	fail := func(err error) error {
		rec := r.record()
		rec.Status, rec.Ended, rec.Error = state.Errored, time.Now().UTC(), "the bot could not run it (ref "+req.CorrelationID+")"
		missing, isMissing := missingTool(err)
		if isMissing {
			rec.Error = missing
		}
		if aerr := st.Append(final, rec); aerr != nil {
			req.Log().Error("recording a deploy", "deploy", rec.ID, "err", aerr)
		}
		if uerr := req.Update(final, ref, finalText(rec, nil)); uerr != nil {
			req.Log().Warn("editing the deploy message", "err", uerr)
		}
		if isMissing {
			// The message says it; the error goes to the audit line.
			return &botkit.UserError{Msg: "I could not deploy: " + missing + ".", Err: err}
		}
		return err
	}

	runDir := st.RunDir(r.rec.ID)
	if err := os.MkdirAll(runDir, 0o750); err != nil {
		return fail(err)
	}
	wt := filepath.Join(runDir, "worktree")
	repoDir, err := filepath.Abs(cfg.Playbooks.Path)
	if err != nil {
		return fail(err)
	}
	repoLock, err := st.WaitLock(ctx, playbooksLock)
	if err != nil {
		return fail(err)
	}
	sha, err := git.Checkout(ctx, gitx.Repo{Dir: repoDir, Remote: cfg.Playbooks.Remote, Ref: cfg.Playbooks.Ref}, wt)
	repoLock.Release()
	if err != nil {
		return fail(fmt.Errorf("checking out the playbooks: %w", err))
	}
	defer gitx.Remove(wt)
	r.mu.Lock()
	r.rec.Commit = sha
	r.mu.Unlock()

	vars, err := json.Marshal(map[string]any{
		app.branchVar(): r.rec.Branch, "deploy_app": r.rec.App, "deploy_env": r.rec.Env,
		"deploy_id": r.rec.ID, "deploy_user": r.rec.User,
	})
	if err != nil {
		return fail(err)
	}
	varsFile := filepath.Join(runDir, "extra-vars.json")
	if err := os.WriteFile(varsFile, vars, 0o600); err != nil {
		return fail(err)
	}
	args := []string{"-i", filepath.Join(wt, app.Inventories[r.rec.Env]), "-e", "@" + varsFile}
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
	logPath := filepath.Join(runDir, "deploy.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fail(err)
	}
	defer logFile.Close()
	fmt.Fprintf(logFile, "# deploy #%d: %s %s -> %s by %s; playbooks %s at %s\n", r.rec.ID, r.rec.App, r.rec.Branch, r.rec.Env, r.rec.User, cfg.Playbooks.Ref, sha)

	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	r.setStop(stop)
	runCtx, cancelTimeout := context.WithTimeoutCause(runCtx, app.timeout(), errTimeout)
	defer cancelTimeout()

	progressDone := make(chan struct{})
	progressStopped := make(chan struct{})
	go func() {
		defer close(progressStopped)
		d.progress(ctx, req, st, r, ref, progressDone)
	}()
	code, runErr := proc.Run(runCtx, proc.Cmd{
		Path: cfg.AnsiblePlaybook, Args: args, Dir: wt, Env: env, Grace: cfg.CancelGrace,
		Output: logFile, Line: r.feed, Tag: r.rec.Owner.Tag,
		// ansible-playbook keeps the deploy's lock file open, so the app
		// and env stay locked while it runs even if this bot dies: a bot
		// on another host, which cannot see its processes, trusts the lock.
		Files: []*os.File{lock.File()},
		Started: func(id proc.ID) {
			// A bot restarted on this host finds the playbook by it.
			rec := r.started(id)
			if err := st.Append(ctx, rec); err != nil {
				req.Log().Warn("recording the playbook's process", "deploy", rec.ID, "err", err)
			}
		},
	})
	close(progressDone)
	<-progressStopped
	if runErr != nil {
		return fail(runErr)
	}

	res := r.finish()
	// status may read r.rec concurrently: the outcome goes in a copy.
	recCopy := r.record()
	rec := &recCopy
	rec.Ended, rec.Recap = time.Now().UTC(), res.Recap
	cause := context.Cause(runCtx)
	var c *cancelled
	switch {
	case errors.As(cause, &c):
		rec.Status, rec.CancelledBy, rec.Task = state.Cancelled, c.by, res.Task
	case errors.Is(cause, errTimeout):
		rec.Status, rec.Task, rec.Error = state.TimedOut, res.Task, fmt.Sprintf("stopped after %s, the app's timeout", app.timeout())
	case ctx.Err() != nil:
		rec.Status, rec.Task, rec.CancelledBy = state.Cancelled, res.Task, "shutdown"
	case code == 0:
		rec.Status = state.Succeeded
	default:
		rec.Status = state.Failed
		switch {
		case res.Failure != nil:
			rec.Task, rec.Error = res.Failure.Task, failureText(res.Failure)
		case res.Error != "":
			rec.Error = res.Error
		default:
			rec.Error = fmt.Sprintf("ansible-playbook exited with code %d", code)
		}
	}
	if err := st.Append(final, *rec); err != nil {
		req.Log().Error("recording a deploy", "deploy", rec.ID, "err", err)
	}
	req.Log().Info("deploy done", "deploy", rec.ID, "app", rec.App, "env", rec.Env, "branch", rec.Branch,
		"status", rec.Status, "exit_code", code, "duration", rec.Duration(time.Now()))
	if err := req.Update(final, ref, finalText(*rec, &res)); err != nil {
		req.Log().Warn("editing the deploy message", "err", err)
	}
	if err := uploadLog(final, req, rec.ID, logPath); err != nil {
		req.Log().Warn("uploading the deploy log", "err", err, "log", logPath)
	}
	return nil
}

// progress edits the deploy's message as the play advances, at most once
// per interval, and picks up cancel requests other instances leave in the
// state dir.
func (d *deployer) progress(ctx context.Context, req *botkit.Request, st *state.Store, r *run, ref botkit.MessageRef, done <-chan struct{}) {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	last := ""
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if by, ok := st.CancelRequested(r.rec.ID); ok {
			r.stop(&cancelled{by: by})
		}
		text := r.progressText(time.Now())
		if text == last {
			continue
		}
		last = text
		if err := req.Update(ctx, ref, text); err != nil {
			req.Log().Warn("editing the progress message", "err", err)
		}
	}
}

func uploadLog(ctx context.Context, req *botkit.Request, id int64, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() > maxLogUpload {
		if _, err := f.Seek(-maxLogUpload, io.SeekEnd); err != nil {
			return err
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	return req.Upload(ctx, fmt.Sprintf("deploy-%d.log", id), string(b), fmt.Sprintf("Full log of deploy #%d", id))
}

// run is a deploy this instance runs. It is safe for concurrent use.
type run struct {
	interval time.Duration

	mu       sync.Mutex
	rec      state.Record // the record as the deploy started, plus its commit
	parser   playbook.Parser
	stopFunc context.CancelCauseFunc
	stopped  error // a stop asked before the run started
}

// record returns a copy of the deploy's record.
func (r *run) record() state.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec
}

// started notes the playbook's process in the record, and returns it.
func (r *run) started(id proc.ID) state.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rec.Owner.Run = state.Process(id)
	return r.rec
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

func (r *run) setStop(f context.CancelCauseFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopFunc = f
	if r.stopped != nil {
		f(r.stopped)
	}
}

func (r *run) stop(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopFunc != nil {
		r.stopFunc(cause)
		return
	}
	if r.stopped == nil {
		r.stopped = cause
	}
}

// progressText is the deploy's message while it runs.
func (r *run) progressText(now time.Time) string {
	r.mu.Lock()
	st := r.parser.State()
	rec := r.rec
	r.mu.Unlock()
	var sb strings.Builder
	fmt.Fprintf(&sb, "⏳ Deploy #%d: `%s` `%s` → *%s* for <@%s>, running for %s", rec.ID, rec.App, rec.Branch, rec.Env, rec.User, rec.Duration(now).Round(time.Second))
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
	fmt.Fprintf(&sb, "\nStop it with `cancel %d`.", rec.ID)
	return sb.String()
}

// finalText is the deploy's message once it ended; res is nil when the
// output is not at hand (an interrupted deploy).
func finalText(rec state.Record, res *playbook.State) string {
	var sb strings.Builder
	head := fmt.Sprintf("Deploy #%d: `%s` `%s` → *%s* for <@%s>", rec.ID, rec.App, rec.Branch, rec.Env, rec.User)
	dur := rec.Duration(time.Now()).Round(time.Second)
	task := ""
	if rec.Task != "" {
		task = fmt.Sprintf(", during task `%s`", botkit.Escape(clip(rec.Task, 200)))
	}
	switch rec.Status {
	case state.Succeeded:
		fmt.Fprintf(&sb, "✅ %s succeeded in %s.", head, dur)
	case state.Failed:
		if rec.Task != "" {
			fmt.Fprintf(&sb, "❌ %s failed in %s at task `%s`", head, dur, botkit.Escape(clip(rec.Task, 200)))
			if res != nil && res.Failure != nil {
				fmt.Fprintf(&sb, " on `%s`", botkit.Escape(res.Failure.Host))
			}
			sb.WriteString(":")
		} else {
			fmt.Fprintf(&sb, "❌ %s failed in %s:", head, dur)
		}
		if rec.Error != "" {
			sb.WriteString("\n```\n" + strings.ReplaceAll(botkit.Escape(rec.Error), "```", "ˋˋˋ") + "\n```")
		}
	case state.Cancelled:
		if rec.CancelledBy == "shutdown" {
			fmt.Fprintf(&sb, "⏹ %s was stopped after %s%s: the bot was shutting down. Deploy again when it is back.", head, dur, task)
		} else {
			fmt.Fprintf(&sb, "⏹ %s was cancelled by <@%s> after %s%s.", head, rec.CancelledBy, dur, task)
		}
	case state.TimedOut:
		fmt.Fprintf(&sb, "⏱ %s timed out: %s%s.", head, rec.Error, task)
	case state.Interrupted:
		fmt.Fprintf(&sb, "⚠️ %s was interrupted: %s. The playbook may have run in part; check, and deploy again.", head, rec.Error)
	default:
		fmt.Fprintf(&sb, "⚠️ %s could not run: %s.", head, rec.Error)
	}
	if len(rec.Recap) > 0 {
		sb.WriteString("\n```\nPLAY RECAP")
		for _, h := range rec.Recap {
			sb.WriteString("\n" + botkit.Escape(h.String()))
		}
		sb.WriteString("\n```")
	}
	if rec.Commit != "" {
		fmt.Fprintf(&sb, "\nPlaybooks at `%.12s`.", rec.Commit)
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
