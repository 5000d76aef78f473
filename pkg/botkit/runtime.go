package botkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// Defaults of the runtime's options.
const (
	DefaultMaxInFlight    = 16
	DefaultQueueSize      = 10000
	DefaultQueueBytes     = 16 << 20 // see WithQueueBytes
	DefaultCommandTimeout = 5 * time.Minute
	DefaultGracePeriod    = 25 * time.Second // under Kubernetes' default 30 s
)

// Runtime runs a Bot over a transport, like net/http's Server runs a
// ServeMux: it owns every part that changes while the bot runs (the queue
// and its workers, dedupe, pending confirmations, the settings and what
// they need: user group cache, rate limiter). Make one with NewRuntime,
// Apply settings (any time, from any goroutine), then Run it once.
type Runtime struct {
	bot            *Bot
	logger         *slog.Logger
	registry       *vm.Set
	maxInFlight    int
	queueSize      int
	queueBytes     int
	commandTimeout time.Duration
	gracePeriod    time.Duration
	env            string // slash commands may carry its suffix (SlashName)
	now            func() time.Time

	started  atomic.Bool
	metrics  *metrics
	seen     *dedupe
	policy   *policy
	pending  interactionStore
	stateDir string
	chains   map[*Command]Handler
	jobMem   *memStore // scheduled jobs' state without a state directory
	s        *session  // the Run; set before any event arrives
	// hookSession is s for webhook requests, which the HTTP server may
	// serve before Run.
	hookSession atomic.Pointer[session]
}

// Option configures a Runtime.
type Option func(*Runtime)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(rt *Runtime) { rt.logger = l } }

// WithRegistry puts the bot's metrics in reg (the set the runner serves on
// /metrics) instead of a private one.
func WithRegistry(reg *vm.Set) Option { return func(rt *Runtime) { rt.registry = reg } }

// WithMaxInFlight bounds how many commands run at once (default 16).
// Events beyond it wait in a queue of WithQueueSize.
func WithMaxInFlight(n int) Option { return func(rt *Runtime) { rt.maxInFlight = n } }

// WithQueueSize bounds how many commands may wait for a free slot (default
// 10,000: a burst of mentions gets through; the queue takes memory only for
// what it holds); past it, the user is told the bot is busy. 0 runs a
// command only when a worker is free.
func WithQueueSize(n int) Option { return func(rt *Runtime) { rt.queueSize = n } }

// WithQueueBytes bounds the memory the waiting commands hold (default 16
// MiB): a count alone lets a flood of long messages take hundreds of MB.
// Text over the longest command (4,000 bytes) is dropped before it is
// queued, so a full queue of the longest messages stays near this bound.
func WithQueueBytes(n int) Option { return func(rt *Runtime) { rt.queueBytes = n } }

// WithEnvironment tells the runtime the environment it runs in (BOT_ENV):
// its Slack app declares slash commands with that suffix (SlashName).
func WithEnvironment(env string) Option { return func(rt *Runtime) { rt.env = env } }

// WithStateDir keeps the runtime's shared state in dir, the bot's state
// directory (on EFS in a pod): pending confirmations and approvals live in
// dir/interactions (see InteractionsDir), so that a click after a restart,
// or at another process sharing dir, still works, once. Without it they
// live in memory and die with the process (the console, tests). NewRuntime
// creates the directory, and panics if it cannot.
func WithStateDir(dir string) Option { return func(rt *Runtime) { rt.stateDir = dir } }

// WithCommandTimeout sets the default timeout of a command (5 minutes).
func WithCommandTimeout(d time.Duration) Option { return func(rt *Runtime) { rt.commandTimeout = d } }

// WithGracePeriod sets how long Run waits, once its context is cancelled,
// for running and queued commands to finish before cancelling them (25
// seconds).
func WithGracePeriod(d time.Duration) Option { return func(rt *Runtime) { rt.gracePeriod = d } }

// WithClock sets the clock the runtime reads (default time.Now): scheduled
// jobs' ticks, dedupe and trigger ages follow it. Tests pass one that runs
// in a testing/synctest bubble from a chosen date.
func WithClock(now func() time.Time) Option { return func(rt *Runtime) { rt.now = now } }

// NewRuntime returns a runtime for b and fixes b: registering on it panics
// from now on. It panics on options out of range (a bug, found at start).
func NewRuntime(b *Bot, opts ...Option) *Runtime {
	b.frozen.Store(true)
	rt := &Runtime{
		bot:            b,
		logger:         slog.New(slog.DiscardHandler),
		maxInFlight:    DefaultMaxInFlight,
		queueSize:      DefaultQueueSize,
		queueBytes:     DefaultQueueBytes,
		commandTimeout: DefaultCommandTimeout,
		gracePeriod:    DefaultGracePeriod,
		now:            time.Now,
	}
	for _, o := range opts {
		o(rt)
	}
	if rt.maxInFlight < 1 || rt.queueSize < 0 || rt.queueBytes < 0 || rt.commandTimeout <= 0 || rt.gracePeriod < 0 {
		panic(fmt.Sprintf("botkit: bad options: max in flight %d, queue %d (%d bytes), timeout %v, grace %v",
			rt.maxInFlight, rt.queueSize, rt.queueBytes, rt.commandTimeout, rt.gracePeriod))
	}
	if rt.registry == nil {
		rt.registry = vm.NewSet()
	}
	rt.logger = rt.logger.With("bot", b.name)
	rt.metrics = newMetrics(rt.registry, b.name)
	rt.seen = newDedupe(rt.now)
	rt.policy = newPolicy(b, rt.now, rt.logger)
	rt.pending = newMemInteractions()
	if rt.stateDir != "" {
		d, err := newDirInteractions(rt.stateDir)
		if err != nil {
			panic("botkit: " + err.Error())
		}
		rt.pending = d
	}
	rt.chains = make(map[*Command]Handler, len(b.cmds))
	for _, c := range b.cmds {
		rt.chains[c] = rt.chain(c)
	}
	for _, c := range b.order {
		if c.kind != KindSlash { // a slash command runs a command's chain
			rt.chains[c] = rt.chain(c)
		}
	}
	rt.jobMem = newMemStore()
	for _, j := range b.jobs {
		rt.chains[j.cmd] = rt.jobChain(j.cmd)
	}
	return rt
}

// Run runs b over tr with a runtime made from opts: NewRuntime(b,
// opts...).Run(ctx, tr). Settings stay empty (everything allowed, no audit
// channel, no rate limit); use NewRuntime to Apply some.
func (b *Bot) Run(ctx context.Context, tr Transport, opts ...Option) error {
	return NewRuntime(b, opts...).Run(ctx, tr)
}

// Bot returns the router the runtime runs.
func (rt *Runtime) Bot() *Bot { return rt.bot }

// Logger returns the runtime's logger, tagged with the bot's name.
func (rt *Runtime) Logger() *slog.Logger { return rt.logger }

// Apply checks s against the bot's commands (see Bot.CheckSettings) and
// makes it current. On error nothing changes: a typo must not become a
// silent no-op. It is safe to call while the bot runs (config reloads do);
// a command already past its access check keeps the settings it saw.
func (rt *Runtime) Apply(s Settings) error {
	c, err := rt.bot.compileSettings(s)
	if err != nil {
		return err
	}
	rt.policy.store(c)
	return nil
}

// EventDoner is implemented by transports that want to know when the bot is
// done with an event, whatever became of it (run, ignored, deduplicated,
// refused as busy): a console reading a script waits for each command
// before reading the next line. Done must be quick and safe for concurrent
// use.
type EventDoner interface {
	Done(Event)
}

// Run delivers the transport's events to commands until ctx is cancelled or
// the transport's input ends, then shuts down like http.Server.Shutdown: the
// transport stops taking events first, commands already running or queued
// finish (after ctx is cancelled, for at most the grace period; queued ones
// that could not start are told the bot is restarting, and running ones
// have their contexts cancelled), and Run returns. It returns nil on a clean
// end and the transport's error otherwise. Run may be called once.
func (rt *Runtime) Run(ctx context.Context, tr Transport) error {
	if !rt.started.CompareAndSwap(false, true) {
		return errors.New("botkit: Run called twice")
	}
	doner, _ := tr.(EventDoner)
	done := func(ev Event) {
		if doner != nil {
			doner.Done(ev)
		}
	}
	var in *inbox
	if rt.stateDir != "" {
		var err error
		if in, err = newInbox(rt.stateDir, rt.now, rt.logger); err != nil {
			return err
		}
		// Released last, once nothing runs: what is left in the inbox is
		// then another process's to take over.
		defer in.close()
	}
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	s := &session{rt: rt, tr: tr, ctx: handlerCtx, done: done, inbox: in,
		queue:     newQueue(rt.queueSize, rt.queueBytes),
		noteSlots: make(chan struct{}, min(max(rt.queueSize, 16), maxNotes)),
		answering: make(chan struct{}, rt.maxInFlight),
		recorders: make(chan struct{}, inboxRecorders),
	}
	rt.s = s
	rt.hookSession.Store(s)

	var workers sync.WaitGroup
	for range rt.maxInFlight {
		workers.Go(s.work)
	}
	stopRelease := make(chan struct{})
	defer close(stopRelease)
	go s.queue.releaseIdle(2*time.Second, stopRelease)

	stopSweep, swept := make(chan struct{}), make(chan struct{})
	go func() { defer close(swept); s.sweep(stopSweep) }()

	listening := make(chan struct{})
	if len(rt.bot.onStart) > 0 {
		s.notes.Go(func() { s.start(ctx, listening) })
	}
	jobsCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	s.notes.Go(func() { s.runJobs(jobsCtx) })

	stopTakeover, tookOver := make(chan struct{}), make(chan struct{})
	if in != nil {
		go func() { defer close(tookOver); s.takeovers(stopTakeover) }()
	} else {
		close(tookOver)
	}

	rt.logger.Info("bot running", "commands", len(rt.bot.cmds), "jobs", len(rt.bot.jobs), "max_in_flight", rt.maxInFlight, "inbox", in != nil)
	listenErr := tr.Listen(ctx, s.deliver)
	close(listening)
	stopJobs() // no tick starts once the transport stops; running ones finish
	close(stopTakeover)
	<-tookOver

	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	// Events being recorded were acked, or will be: they are queued
	// before the queue closes.
	s.recording.Wait()
	s.queue.close()

	finished := make(chan struct{})
	go func() { workers.Wait(); s.notes.Wait(); close(finished) }()
	if ctx.Err() == nil {
		<-finished // input ended: let every command finish; each has its timeout
	} else {
		grace := time.NewTimer(rt.gracePeriod)
		defer grace.Stop()
		select {
		case <-finished:
		case <-grace.C:
			left := s.queue.drain()
			rt.logger.Warn("grace period over; cancelling running commands", "grace", rt.gracePeriod, "queued", len(left))
			s.restarting(left)
			cancelHandlers()
			<-finished
		}
	}
	close(stopSweep)
	<-swept
	s.abandonPending()
	rt.logger.Info("bot stopped")
	if listenErr != nil && !errors.Is(listenErr, context.Canceled) {
		return fmt.Errorf("listening: %w", listenErr)
	}
	return nil
}

// maxNotes bounds the notes (busy, expired, wrong user) being posted at once.
const maxNotes = 256

// readyPoll is how often start asks a transport whether it is ready.
const readyPoll = 50 * time.Millisecond

// noteTimeout bounds a note posted outside any command: one that shutdown
// posts must not hold the pod past its grace period.
const noteTimeout = 5 * time.Second

// session is one Run: the transport, the queue and the shutdown state.
type session struct {
	rt    *Runtime
	tr    Transport
	ctx   context.Context // handlers'; cancelled when the grace period ends
	done  func(Event)
	queue *queue

	mu     sync.RWMutex
	closed bool

	tmu    sync.Mutex
	timers map[string]*time.Timer // expiry of interactions, by id

	notes     sync.WaitGroup
	noteSlots chan struct{}

	inbox     *inbox // nil without a state directory
	recording sync.WaitGroup
	recorders chan struct{} // bounds recording
	// answering bounds the handlers of interactions Slack reads an answer
	// from; they do not wait in the queue, behind long commands.
	answering chan struct{}
}

// deliver takes one event from the transport. It never blocks for long:
// it runs on the transport's goroutine, between acks. With an inbox, an
// Events API event is recorded off that goroutine, and acked once
// recorded; any other event is acked at once.
func (s *session) deliver(_ context.Context, ev Event) {
	rt := s.rt
	if ev.Action != nil && ev.Kind == KindMessage {
		ev.Kind = KindAction // a transport that predates kinds
	}
	durable := s.inbox != nil && (ev.Kind == KindMessage || ev.Kind == KindEvent) && inboxKey(&ev) != ""
	if !durable {
		ev.ack()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		// Not acked when durable: its source sends it again, to the
		// process that takes over.
		rt.metrics.events.Counter(eventDropped).Inc()
		s.done(ev)
		return
	}
	switch ev.Kind {
	case KindAction:
		if strings.HasPrefix(ev.Action.ActionID, ConfirmActionID) {
			s.click(ev)
			return
		}
	case KindView, KindOptions:
		s.answerAsync(ev)
		return
	}
	if ev.BotID != "" || ev.Subtype != "" {
		ev.ack()
		rt.metrics.events.Counter(eventIgnored).Inc()
		s.done(ev)
		return
	}
	// A retry keeps its event_id; the same message can also come as two
	// events (app_mention and message.im), which share channel and ts.
	// Memory is the fast check; the inbox's record is the one shared by
	// every process.
	if !rt.seen.first(ev.ID) || ev.Kind == KindMessage && ev.TS != "" && !rt.seen.first("msg:"+ev.Channel+"/"+ev.TS) {
		ev.ack()
		rt.metrics.events.Counter(eventDuplicate).Inc()
		rt.logger.Debug("duplicate event dropped", "event_id", ev.ID)
		s.done(ev)
		return
	}
	if durable {
		s.record(ev)
		return
	}
	s.enqueue(ev, false)
}

// record writes ev's record in the inbox, then acks and queues it, off the
// transport's goroutine: a synced write on EFS takes milliseconds, and a
// burst must not wait for them one by one. Past inboxRecorders at once,
// deliver waits.
func (s *session) record(ev Event) {
	s.recorders <- struct{}{}
	s.recording.Go(func() {
		defer func() { <-s.recorders }()
		rt := s.rt
		e, err := s.inbox.record(&ev)
		switch {
		case errors.Is(err, errInboxTaken):
			ev.ack()
			rt.metrics.events.Counter(eventDuplicate).Inc()
			rt.logger.Debug("event taken already, here or by another process", "event_id", ev.ID)
			s.done(ev)
			return
		case err != nil:
			// Handled all the same, as without a state directory: a
			// bot that stops answering because its volume fails is
			// worse than one that may lose an event to a crash.
			rt.metrics.errors.Counter("inbox").Inc()
			rt.logger.Error("recording an event in the inbox; handling it without a record", "event_id", ev.ID, "err", err)
		}
		ev.inbox = e
		ev.ack()
		s.enqueue(ev, false)
	})
}

// enqueue queues ev for a worker, or tells its author the bot is busy.
// force queues past the bounds (an event taken over from a dead process:
// there are few at once, and they were acked long ago).
func (s *session) enqueue(ev Event, force bool) {
	rt := s.rt
	w := work{ev: ev, received: rt.now()}
	if len(ev.Text) > maxCommandText {
		// Only the reply "too long" is left to do: the text itself is not
		// kept, so a flood of long messages costs what short ones do.
		w.ev.Text, w.tooLong = "", true
	}
	if force && s.queue.pushAnswer(w) || !force && s.queue.push(w) {
		rt.metrics.queued.Inc()
		return
	}
	rt.metrics.events.Counter(eventBusy).Inc()
	s.async(ev, func() {
		s.post(s.ctx, ev, "I'm busy with other commands right now; try again in a moment.")
		ev.inbox.finish()
		s.done(ev)
	})
}

// async runs f off the transport's goroutine, bounded, so a flood can
// neither delay acks nor grow goroutines without limit.
func (s *session) async(ev Event, f func()) {
	select {
	case s.noteSlots <- struct{}{}:
		s.notes.Go(func() {
			defer func() { <-s.noteSlots }()
			f()
		})
	default:
		s.rt.logger.Warn("too many notes pending; event dropped", "event_id", ev.ID)
		s.done(ev)
	}
}

// work is a worker: it runs queued work until the queue is closed and empty.
func (s *session) work() {
	for {
		w, ok := s.queue.pop()
		if !ok {
			return
		}
		s.rt.metrics.queued.Dec()
		if w.answer != nil {
			s.resume(w)
		} else {
			s.dispatch(w)
		}
		w.ev.inbox.finish()
		s.done(w.ev)
		s.queue.finish()
	}
}

// restarting tells the authors of events that were acked and queued but
// never started that the bot is restarting, so nothing is dropped without a
// word; those recorded in the inbox stay there instead, for the process
// that takes over once this one is gone.
func (s *session) restarting(left []work) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	for _, w := range left {
		s.rt.metrics.queued.Dec()
		if w.ev.inbox != nil {
			s.rt.metrics.events.Counter(eventLeft).Inc()
			s.rt.logger.Info("restarting; an event queued stays in the inbox for the process that takes over", "event_id", w.ev.ID)
			s.done(w.ev)
			continue
		}
		s.rt.metrics.events.Counter(eventDropped).Inc()
		if w.ev.Kind == KindWebhook {
			// Nobody to tell in Slack: the sender was answered 202.
			s.rt.logger.Warn("restarting; a webhook delivery queued was not run", "hook", w.ev.Webhook.Path, "delivery", w.ev.Webhook.ID)
			s.done(w.ev)
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			defer s.done(w.ev)
			text := "I'm restarting and could not run that in time; send it again in a minute."
			if w.answer != nil {
				text = "I'm restarting and could not run that after your answer; run the command again in a minute."
			}
			s.post(ctx, w.ev, text)
		})
	}
	wg.Wait()
}

// start runs the OnStart funcs once the transport is ready, unless ctx ends
// or the transport stops listening first.
func (s *session) start(ctx context.Context, listening <-chan struct{}) {
	rt := s.rt
	if r, ok := s.tr.(Readier); ok {
		tick := time.NewTicker(readyPoll)
		defer tick.Stop()
		for r.Ready() != nil {
			select {
			case <-ctx.Done():
				return
			case <-listening:
				return
			case <-tick.C:
			}
		}
	}
	for i, f := range rt.bot.onStart {
		func() {
			fctx, cancel := context.WithTimeout(s.ctx, rt.commandTimeout)
			defer cancel()
			defer func() {
				if v := recover(); v != nil {
					rt.metrics.errors.Counter("start").Inc()
					rt.logger.Error("start func panicked", "index", i, "panic", fmt.Sprint(v))
				}
			}()
			if err := f(fctx, s.tr); err != nil {
				rt.metrics.errors.Counter("start").Inc()
				rt.logger.Error("start func failed", "index", i, "err", err)
			}
		}()
	}
}

// post sends a plain reply in ev's thread, logging a failure.
func (s *session) post(ctx context.Context, ev Event, text string) {
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	if thread == "" && ev.Action != nil {
		thread = ev.Action.MessageTS
	}
	m := Message{Channel: ev.Channel, ThreadTS: thread, Text: text}
	if ev.Action != nil {
		m.EphemeralUser = ev.User // a note about a click is for the clicker
	}
	ref, err := s.tr.Post(ctx, m)
	if err != nil {
		s.rt.metrics.errors.Counter("post").Inc()
		s.rt.logger.Error("posting reply", "channel", ev.Channel, "event_id", ev.ID, "err", err)
		return
	}
	ev.inbox.noteReply(ref)
}
