package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit"
)

// CancelActionID is the action_id of a job's Cancel button.
const CancelActionID = "botkit_jobs_cancel"

// Defaults of Options.
const (
	DefaultPoll = 2 * time.Second
	// maxLogUpload bounds the log attached at a job's end: its last bytes.
	maxLogUpload = 4 << 20
	// historyShown is how many jobs `history` lists unless told.
	historyShown = 10
	// finalTimeout bounds a job's last words (record, edit, log) after its
	// context is done: a cancelled job must still be recorded as such.
	finalTimeout = 30 * time.Second
)

// Options configure a Manager.
type Options struct {
	// Dir is the state directory shared by every process of the bot
	// (/efs/state/<bot>/jobs in a pod).
	Dir string
	Log *slog.Logger
	// MayCancel returns who may cancel other people's jobs, besides their
	// requesters. It is called at each cancel, so that a config reload
	// takes effect; nil lets only requesters cancel.
	MayCancel func() Principals
	// Poll is how often a running job looks for a cancel request left by
	// another process; default DefaultPoll.
	Poll time.Duration
	// MaxHistoryBytes is the size at which the history is rotated.
	MaxHistoryBytes int64
	// Noun names a job to users, in busy answers and the log's upload
	// ("Full log of deploy #42"); default "job".
	Noun string
	// EndText, if set, is the text of a job's message once it ended, in
	// its process or found interrupted (Record.Data holds what the bot
	// kept); default: the last progress and a line on how it ended.
	EndText func(r Record) string
	// OwnCommands leaves `status`, `history` and `cancel` to the bot, which
	// answers them through Store and Cancel; the Cancel button stays.
	OwnCommands bool
	// Orphan, if set, is asked at start about each running job of a dead
	// process: a non-nil answer adopts the job (see Manager.adopt).
	Orphan func(r Record) func(ctx context.Context) error
}

// Principals are Slack users and user groups.
type Principals struct {
	Users  []string `yaml:"users"`
	Groups []string `yaml:"groups"` // Slack user group IDs (S...)
}

// Manager runs a bot's jobs, and answers `status`, `history [n]` and
// `cancel <n>` and clicks on a job's Cancel button. It is safe for
// concurrent use.
type Manager struct {
	st   *Store
	log  *slog.Logger
	opts Options

	mu     sync.Mutex
	active map[int64]*Job // jobs this process runs
	poster botkit.Poster  // once the bot is connected
	notes  []Record       // interrupted jobs whose message is still to edit
}

// New opens the state directory, records the jobs of dead processes as
// interrupted (their messages are edited once the bot is connected), and
// registers the commands and the Cancel button on b.
func New(b *botkit.Bot, o Options) (*Manager, error) {
	if o.Dir == "" {
		return nil, errors.New("jobs: no state directory")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Noun == "" {
		o.Noun = "job"
	}
	st, err := Open(o.Dir, StoreOptions{Log: o.Log, MaxHistoryBytes: o.MaxHistoryBytes})
	if err != nil {
		return nil, err
	}
	m := &Manager{st: st, log: o.Log, opts: o, active: map[int64]*Job{}}
	if err := m.adoptOrphans(context.Background()); err != nil {
		st.Close()
		return nil, fmt.Errorf("adopting the jobs of stopped processes: %w", err)
	}
	stale, err := st.Recover(context.Background())
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("recovering the jobs of stopped processes: %w", err)
	}
	m.notes = stale
	b.OnStart(m.start)
	b.Action(CancelActionID, m.cancelClick)
	if o.OwnCommands {
		return m, nil
	}
	b.Command("status", m.status, botkit.Describe(fmt.Sprintf("Show the running %s: who runs what, since when, how far; and the commands awaiting approval", m.many())))
	b.Command("history [{n:1..100}]", m.history, botkit.Describe(fmt.Sprintf("Show the last %s and how they ended", m.many())), botkit.Example("history 20"))
	b.Command("cancel {"+cancelParam(o.Noun)+":1..9007199254740992}", m.cancelCmd,
		botkit.Describe(fmt.Sprintf("Stop a running %s (yours, unless you may stop any)", o.Noun)), botkit.Example("cancel 42"))
	return m, nil
}

// Store returns the Manager's state directory.
func (m *Manager) Store() *Store { return m.st }

// Close releases this process's lock: its running jobs are, for other
// processes, those of a dead one.
func (m *Manager) Close() { m.st.Close() }

// start keeps the poster for edits outside commands and edits the messages
// of jobs found interrupted.
func (m *Manager) start(ctx context.Context, p botkit.Poster) error {
	m.mu.Lock()
	m.poster = p
	notes := m.notes
	m.notes = nil
	m.mu.Unlock()
	return m.notify(ctx, notes)
}

// notify edits the messages of interrupted jobs rs and records that it did.
func (m *Manager) notify(ctx context.Context, rs []Record) error {
	m.mu.Lock()
	p := m.poster
	if p == nil {
		m.notes = append(m.notes, rs...)
	}
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	var errs []error
	for _, r := range rs {
		if r.Message == "" || r.Notified {
			continue
		}
		text := fmt.Sprintf("⚠️ %s, <@%s> %s, was interrupted: %s. Nothing runs it any more; check its target, and start it again if need be.",
			m.oneFirst(r.ID), r.User, r.Title, botkit.Escape(r.Error))
		if r.Status != Interrupted { // an adopted job cancelled
			text = m.endLine(r)
		}
		if m.opts.EndText != nil {
			text = m.opts.EndText(r)
		}
		err := p.Update(ctx, botkit.MessageRef{Channel: r.Channel, TS: r.Message}, botkit.Message{Channel: r.Channel, ThreadTS: r.Thread, Text: text})
		if err != nil {
			errs = append(errs, fmt.Errorf("editing the message of interrupted job #%d: %w", r.ID, err))
			continue
		}
		if err := m.st.MarkNotified(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Spec is a job to run.
type Spec struct {
	// Kind is what the job does: deploy, rollback, scale.
	Kind string
	// Key is what the job locks: one job per key runs at a time.
	Key string
	// Subject names what the key stands for, in mrkdwn, for people:
	// "`api` in dev". Default: the key.
	Subject string
	// Title says what the job does, following "<@user> is ": "deploying
	// `v2` to `api` in dev".
	Title string
	// Args are the job's arguments, recorded.
	Args map[string]string
}

// Job is a job running in this process.
type Job struct {
	m      *Manager
	req    *botkit.Request
	lease  *Lease
	cancel context.CancelCauseFunc

	mu   sync.Mutex
	rec  Record
	ref  botkit.MessageRef
	text string // the progress message's text
	log  *os.File
}

// cancelled is the cause of a job's context when someone cancels it.
type cancelled struct{ by string }

func (c *cancelled) Error() string { return "cancelled by " + c.by }

// ID returns the job's number.
func (j *Job) ID() int64 { return j.rec.ID }

// Run runs fn as a job for req: numbered, holding sp.Key across every
// process sharing the state directory, recorded in the history, and
// cancellable until fn returns. When another job holds the key, the user is
// told who runs what since when, and how to follow or cancel it, and fn
// does not run; nor does it when req's event began a job already (a
// redelivery). fn reports progress with Job.Progress; its context is
// cancelled by a cancel, from any process. Run returns fn's error.
func (m *Manager) Run(ctx context.Context, req *botkit.Request, sp Spec, fn func(ctx context.Context, j *Job) error) error {
	thread := req.ThreadTS
	if thread == "" {
		thread = req.TS
	}
	lease, stale, err := m.st.Begin(ctx, Record{Kind: sp.Kind, Key: sp.Key, Title: sp.Title, Args: sp.Args,
		User: req.User, Event: eventKey(req), Channel: req.Channel, Thread: thread})
	if len(stale) > 0 {
		if nerr := m.notify(ctx, stale); nerr != nil {
			req.Log().Warn("editing the messages of interrupted jobs", "err", nerr)
		}
	}
	var busy *BusyError
	var dup *DuplicateError
	switch {
	case errors.As(err, &busy):
		req.Log().Info("job refused: its key is held", "key", sp.Key, "holder", holderID(busy.Holder))
		return &botkit.UserError{Msg: busyText(sp, m.opts.Noun, busy.Holder, time.Now()), Err: err}
	case errors.As(err, &dup):
		req.Log().Info("a redelivered request: its job was begun already", "job", dup.ID, "event", dup.Event)
		return nil
	case err != nil:
		return err
	}
	rec := lease.Record()
	req.Log().Info("job started", "job", rec.ID, "kind", rec.Kind, "key", rec.Key)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	j := &Job{m: m, req: req, lease: lease, cancel: cancel, rec: rec}
	m.mu.Lock()
	m.active[rec.ID] = j
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.active, rec.ID)
		m.mu.Unlock()
	}()
	go m.watchCancel(jctx, j)

	var panicked any
	runErr := func() (err error) {
		defer func() {
			// The job ends, recorded and its key freed; then botkit's
			// recover middleware reports the panic.
			if panicked = recover(); panicked != nil {
				err = fmt.Errorf("the job panicked: %v", panicked)
			}
		}()
		return fn(jctx, j)
	}()
	if panicked != nil {
		defer panic(panicked)
	}

	final, cancelFinal := context.WithTimeout(context.WithoutCancel(ctx), finalTimeout)
	defer cancelFinal()
	j.mu.Lock()
	rec = j.rec
	j.mu.Unlock()
	var c *cancelled
	var ce *CancelledError
	switch {
	case errors.As(context.Cause(jctx), &c):
		rec.Status, rec.CancelledBy = Cancelled, c.by
	case errors.As(runErr, &ce):
		rec.Status, rec.CancelledBy = Cancelled, ce.By
	case runErr == nil:
		rec.Status = Succeeded
	case errors.Is(runErr, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		rec.Status = TimedOut
	default:
		rec.Status = Failed
	}
	if runErr != nil {
		if ue, ok := botkit.AsUserError(runErr); ok {
			rec.Error = ue.Msg
		} else {
			rec.Error = runErr.Error()
		}
	}
	rec.Ended = time.Now().UTC()
	if err := lease.Finish(final, rec); err != nil {
		req.Log().Error("recording a job's end", "job", rec.ID, "err", err)
	}
	j.finish(final, rec)
	req.Log().Info("job ended", "job", rec.ID, "status", rec.Status)
	if rec.Status == Cancelled {
		return &botkit.UserError{Msg: m.endLine(rec), Err: runErr}
	}
	return runErr
}

// eventKey names what asked for a job, the same in every delivery: a
// message by its channel and ts, which Slack may deliver under two event
// ids (as a message and as an app_mention), anything else by its event id.
func eventKey(req *botkit.Request) string {
	if req.Kind == botkit.KindMessage && req.Channel != "" && req.TS != "" {
		return "msg:" + req.Channel + "/" + req.TS
	}
	return req.EventID
}

func holderID(r *Record) int64 {
	if r == nil {
		return 0
	}
	return r.ID
}

// busyText answers a job refused because h holds its key.
func busyText(sp Spec, noun string, h *Record, now time.Time) string {
	subject := sp.Subject
	if subject == "" {
		subject = "`" + botkit.Escape(sp.Key) + "`"
	}
	if h == nil {
		return subject + " is busy with another " + noun + "; try again in a moment, or see `status`."
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s is busy: <@%s> is %s (%s #%d), since %s UTC (%s ago)", subject, h.User, h.Title, noun, h.ID,
		h.Started.UTC().Format("15:04:05"), now.Sub(h.Started).Round(time.Second))
	switch {
	case strings.HasPrefix(h.Channel, "D"):
		b.WriteString(", in a direct message with me")
	case h.Channel != "":
		fmt.Fprintf(&b, ", in <#%s>", h.Channel)
	}
	b.WriteString(".")
	if h.Progress != "" {
		b.WriteString("\nIts progress: " + h.Progress)
	}
	fmt.Fprintf(&b, "\nFollow it there or with `status`; <@%s> can stop it with `cancel %d`. Try again when it is done.", h.User, h.ID)
	return b.String()
}

// watchCancel cancels j when a cancel request for it appears in the state
// directory: another process took the `cancel` or the click.
func (m *Manager) watchCancel(ctx context.Context, j *Job) {
	tick := time.NewTicker(m.opts.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if by, ok := m.st.CancelRequested(j.rec.ID); ok {
				j.req.Log().Info("job cancelled through the state directory", "job", j.rec.ID, "by", by)
				j.cancel(&cancelled{by: by})
				return
			}
		}
	}
}

// Progress shows text as the job's progress: the first call posts the
// progress message, with a Cancel button, and later ones edit it. The text
// is also what a user refused the job's key is shown.
func (j *Job) Progress(ctx context.Context, text string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if text == j.text {
		return
	}
	j.text = text
	if err := j.lease.Progress(text); err != nil {
		j.req.Log().Warn("keeping a job's progress", "job", j.rec.ID, "err", err)
	}
	msg := j.message(text, true)
	p := j.m.currentPoster()
	if j.ref == (botkit.MessageRef{}) {
		var err error
		if p != nil && j.req.Channel != "" {
			j.ref, err = p.Post(ctx, msg)
		} else {
			j.ref, err = j.req.Reply(ctx, text)
		}
		if err != nil {
			j.req.Log().Warn("posting a job's progress", "job", j.rec.ID, "err", err)
			return
		}
		if j.ref.TS != "" {
			j.rec.Channel, j.rec.Message = j.ref.Channel, j.ref.TS
			if err := j.lease.Update(ctx, j.rec); err != nil {
				j.req.Log().Warn("recording a job's message", "job", j.rec.ID, "err", err)
			}
		}
		return
	}
	j.edit(ctx, msg)
}

// edit replaces the progress message with msg; the caller holds j.mu.
func (j *Job) edit(ctx context.Context, msg botkit.Message) {
	var err error
	if p := j.m.currentPoster(); p != nil && j.ref.TS != "" {
		err = p.Update(ctx, j.ref, msg)
	} else {
		err = j.req.Update(ctx, j.ref, msg.Text)
	}
	if err != nil {
		j.req.Log().Warn("editing a job's progress", "job", j.rec.ID, "err", err)
	}
}

// message is the progress message of text, with a Cancel button while the
// job runs.
func (j *Job) message(text string, running bool) botkit.Message {
	m := botkit.Message{Channel: j.req.Channel, ThreadTS: j.rec.Thread, Text: text}
	if !running {
		return m
	}
	id := strconv.FormatInt(j.rec.ID, 10)
	btn := slack.NewButtonBlockElement(CancelActionID, id, slack.NewTextBlockObject(slack.PlainTextType, "Cancel "+j.m.one(j.rec.ID), false, false))
	btn.Style = slack.StyleDanger
	m.Blocks = []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, clip(text, 3000), false, false), nil, nil),
		slack.NewActionBlock("job_"+id, btn),
	}
	return m
}

func (m *Manager) currentPoster() botkit.Poster {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.poster
}

// Logf appends a line to the job's log, uploaded when the job ends.
func (j *Job) Logf(format string, args ...any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.openLog(); err != nil {
		j.req.Log().Warn("opening a job's log", "job", j.rec.ID, "err", err)
		return
	}
	fmt.Fprintf(j.log, "%s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// finish edits the progress message to say how the job ended, without its
// button, and uploads the log.
func (j *Job) finish(ctx context.Context, rec Record) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ref != (botkit.MessageRef{}) {
		text := j.text + "\n" + j.m.endLine(rec)
		if j.m.opts.EndText != nil {
			text = j.m.opts.EndText(rec)
		}
		j.edit(ctx, j.message(text, false))
	}
	if j.log == nil {
		return
	}
	j.log.Close()
	content, err := tail(j.m.st.LogPath(rec.ID), maxLogUpload)
	if err == nil {
		noun := j.m.opts.Noun
		err = j.req.Upload(ctx, fmt.Sprintf("%s-%d.log", noun, rec.ID), content, fmt.Sprintf("Full log of %s #%d", noun, rec.ID))
	}
	if err != nil {
		j.req.Log().Warn("uploading a job's log", "job", rec.ID, "err", err)
	}
}

// endLine says how a job ended.
func (m *Manager) endLine(r Record) string {
	took := r.Duration(r.Ended).Round(time.Second)
	name := m.oneFirst(r.ID)
	switch r.Status {
	case Succeeded:
		return fmt.Sprintf("✅ %s succeeded in %s.", name, took)
	case Cancelled:
		return fmt.Sprintf("⏹ %s was cancelled by %s after %s.", name, who(r.CancelledBy), took)
	case TimedOut:
		return fmt.Sprintf("⌛ %s timed out after %s.", name, took)
	case Interrupted:
		return fmt.Sprintf("⚠️ %s was interrupted after %s.", name, took)
	default:
		return fmt.Sprintf("❌ %s failed after %s.", name, took)
	}
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int64) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > n {
		if _, err := f.Seek(-n, io.SeekEnd); err != nil {
			return "", err
		}
	}
	b, err := io.ReadAll(f)
	return string(b), err
}

// mayCancel reports whether user may cancel others' jobs.
func (m *Manager) mayCancel(ctx context.Context, user string) bool {
	if m.opts.MayCancel == nil {
		return false
	}
	p := m.opts.MayCancel()
	if slices.Contains(p.Users, user) {
		return true
	}
	gr, ok := m.currentPoster().(botkit.GroupResolver)
	if !ok {
		return false
	}
	for _, g := range p.Groups {
		members, err := gr.GroupMembers(ctx, g)
		if err != nil {
			m.log.Warn("listing a group of those who may cancel jobs", "group", g, "err", err)
			continue
		}
		if slices.Contains(members, user) {
			return true
		}
	}
	return false
}
