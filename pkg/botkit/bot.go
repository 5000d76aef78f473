package botkit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// Defaults for the options of New.
const (
	DefaultMaxInFlight    = 16
	DefaultQueueSize      = 10000
	DefaultCommandTimeout = 5 * time.Minute
	DefaultGracePeriod    = 25 * time.Second // under Kubernetes' default 30 s
)

// Bot routes messages to commands. Register commands with Command, then call
// Run with a transport. Command and Use panic once Run has started; the rest
// is safe for concurrent use.
type Bot struct {
	name           string
	logger         *slog.Logger
	registry       *vm.Set
	maxInFlight    int
	queueSize      int
	commandTimeout time.Duration
	gracePeriod    time.Duration
	now            func() time.Time

	cmds       []*Command
	routes     map[string][]route // by first word, most specific first
	middleware []Middleware
	onStart    []StartFunc
	onDone     func(Event)
	started    atomic.Bool
	metrics    *metrics
	seen       *dedupe
	confirms   confirmations
	settings   settingsHolder
	groups     groupCache
	limiter    rateLimiter
}

// Option configures a Bot.
type Option func(*Bot)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(b *Bot) { b.logger = l } }

// WithRegistry puts the bot's metrics in reg (the set the runner serves on
// /metrics) instead of a private one.
func WithRegistry(reg *vm.Set) Option { return func(b *Bot) { b.registry = reg } }

// WithMaxInFlight bounds how many commands run at once (default 16).
// Events beyond it wait in a queue of WithQueueSize.
func WithMaxInFlight(n int) Option { return func(b *Bot) { b.maxInFlight = n } }

// WithQueueSize bounds how many commands may wait for a free slot (default
// 10,000: a burst of mentions gets through; the queue takes memory only for
// what it holds); past it, the user is told the bot is busy.
func WithQueueSize(n int) Option { return func(b *Bot) { b.queueSize = n } }

// WithCommandTimeout sets the default timeout of a command (5 minutes).
func WithCommandTimeout(d time.Duration) Option { return func(b *Bot) { b.commandTimeout = d } }

// WithGracePeriod sets how long Run waits, once its context is cancelled,
// for running commands to finish before cancelling them (25 seconds).
func WithGracePeriod(d time.Duration) Option { return func(b *Bot) { b.gracePeriod = d } }

// WithEventDone calls f once the bot is done with an event, whatever became
// of it (run, ignored, deduplicated, refused as busy): the test kit uses it to
// know when a command's replies are all posted. f must be safe for
// concurrent use and quick.
func WithEventDone(f func(Event)) Option { return func(b *Bot) { b.onDone = f } }

// New returns a bot named name (its Slack handle, used in help and logs).
func New(name string, opts ...Option) *Bot {
	b := &Bot{
		name:           name,
		logger:         slog.New(slog.DiscardHandler),
		maxInFlight:    DefaultMaxInFlight,
		queueSize:      DefaultQueueSize,
		commandTimeout: DefaultCommandTimeout,
		gracePeriod:    DefaultGracePeriod,
		now:            time.Now,
		routes:         make(map[string][]route),
	}
	for _, o := range opts {
		o(b)
	}
	if b.maxInFlight < 1 || b.queueSize < 0 || b.commandTimeout <= 0 || b.gracePeriod < 0 {
		panic(fmt.Sprintf("botkit: bad options: max in flight %d, queue %d, timeout %v, grace %v",
			b.maxInFlight, b.queueSize, b.commandTimeout, b.gracePeriod))
	}
	if b.registry == nil {
		b.registry = vm.NewSet()
	}
	b.logger = b.logger.With("bot", name)
	b.metrics = newMetrics(b.registry, name)
	b.seen = newDedupe(b.now)
	b.groups.now, b.limiter.now = b.now, b.now
	return b
}

// Name returns the bot's name.
func (b *Bot) Name() string { return b.name }

// Logger returns the bot's logger.
func (b *Bot) Logger() *slog.Logger { return b.logger }

// Commands returns the registered commands in registration order.
func (b *Bot) Commands() []*Command { return slices.Clone(b.cmds) }

// Use appends middleware, run around every handler in the order given
// (the first is outermost). It panics after Run has started.
func (b *Bot) Use(mw ...Middleware) {
	b.mustNotBeStarted("Use")
	b.middleware = append(b.middleware, mw...)
}

// Command registers h to run for messages matching pattern. It panics when
// the pattern is malformed, names the reserved command help, or is
// ambiguous with a pattern already registered (some message would match both
// with the same precedence), so that a mistake fails at start and in tests,
// never in Slack.
func (b *Bot) Command(pat string, h HandlerFunc, opts ...CommandOption) *Command {
	b.mustNotBeStarted("Command")
	if h == nil {
		panic(fmt.Sprintf("botkit: nil handler for %q", pat))
	}
	p, err := parsePattern(pat)
	if err != nil {
		panic("botkit: " + err.Error())
	}
	if p.name() == "help" {
		panic(fmt.Sprintf("botkit: %q: help is generated and cannot be registered", pat))
	}
	c := &Command{pat: p, handler: h}
	for _, o := range opts {
		o(c)
	}
	name := p.name()
	routes := slices.Clone(b.routes[name])
	for _, elems := range p.alternatives() {
		routes = append(routes, route{cmd: c, elems: elems})
	}
	slices.SortStableFunc(routes, compareRoutes)
	for i := 1; i < len(routes); i++ {
		if compareRoutes(routes[i-1], routes[i]) == 0 {
			x, y := routes[i-1].cmd, routes[i].cmd
			if x == y {
				panic(fmt.Sprintf("botkit: pattern %q matches the same words two ways", pat))
			}
			panic(fmt.Sprintf("botkit: pattern %q is ambiguous with %q: a message can match both", y.pat.src, x.pat.src))
		}
	}
	b.routes[name] = routes
	b.cmds = append(b.cmds, c)
	return c
}

func (b *Bot) mustNotBeStarted(what string) {
	if b.started.Load() {
		panic("botkit: " + what + " called after Run started")
	}
}

// StartFunc is work a bot does once per Run outside any command, such as
// editing the messages of work a restart interrupted. p posts and edits
// through the bot's transport.
type StartFunc func(ctx context.Context, p Poster) error

// OnStart registers f to run once Run's transport is ready (connected to
// Slack; at once for transports that cannot tell), alongside the first
// commands. f's context is cancelled after the bot's command timeout, or
// when the shutdown grace period ends; Run waits for f like for a command.
// An error f returns is logged. If the transport stops before it is ready,
// f does not run. OnStart panics after Run has started or when f is nil.
func (b *Bot) OnStart(f StartFunc) {
	b.mustNotBeStarted("OnStart")
	if f == nil {
		panic("botkit: nil OnStart func")
	}
	b.onStart = append(b.onStart, f)
}

// Match finds the command for text (already stripped of the mention and
// normalized) and binds its arguments. It is what every event goes through,
// exposed for benchmarks and tools.
func (b *Bot) Match(text string) (*Command, []string) {
	var buf [16]span
	toks := tokenize(text, buf[:0])
	if len(toks) == 0 {
		return nil, nil
	}
	first := text[toks[0].start:toks[0].end]
	routes, ok := b.routes[first]
	if !ok {
		routes = b.routes[strings.ToLower(first)]
	}
	var argBuf [8]string
	for _, r := range routes {
		n := len(r.cmd.pat.params)
		args := argBuf[:0]
		if n <= len(argBuf) {
			args = argBuf[:n]
			clear(args)
		} else {
			args = make([]string, n)
		}
		if r.match(text, toks, args) {
			if n == 0 {
				return r.cmd, nil
			}
			return r.cmd, slices.Clone(args)
		}
	}
	return nil, nil
}

// Run delivers the transport's events to commands until ctx is cancelled or
// the transport's input ends, then shuts down like http.Server.Shutdown: the
// transport stops taking events first, commands already running or queued
// finish (after ctx is cancelled, for at most the grace period, after which
// their contexts are cancelled), and Run returns. It returns nil on a clean
// end and the transport's error otherwise.
func (b *Bot) Run(ctx context.Context, tr Transport) error {
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("botkit: Run called twice")
	}
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()

	queue := newQueue(b.queueSize)
	var workers, notes sync.WaitGroup
	for range b.maxInFlight {
		workers.Go(func() {
			for {
				ev, ok := queue.pop()
				if !ok {
					return
				}
				b.metrics.queued.Dec()
				b.handle(handlerCtx, tr, ev)
				b.done(ev)
				queue.finish()
			}
		})
	}
	stopRelease := make(chan struct{})
	defer close(stopRelease)
	go queue.releaseIdle(2*time.Second, stopRelease)
	// Notes (busy, expired confirmations) are posted off the transport's
	// goroutine and bounded, so a flood can neither delay acks nor grow
	// goroutines without limit.
	noteSlots := make(chan struct{}, min(max(b.queueSize, 16), maxNotes))
	async := func(ev Event, f func()) {
		select {
		case noteSlots <- struct{}{}:
			notes.Go(func() {
				defer func() { <-noteSlots }()
				f()
			})
		default:
			b.logger.Warn("too many notes pending; event dropped", "event_id", ev.ID)
			b.done(ev)
		}
	}

	var mu sync.RWMutex
	closed := false
	deliver := func(_ context.Context, ev Event) {
		mu.RLock()
		defer mu.RUnlock()
		if closed {
			b.metrics.events.Counter(eventDropped).Inc()
			b.done(ev)
			return
		}
		if ev.Action != nil {
			b.handleAction(handlerCtx, tr, ev, func(f func()) { async(ev, f) })
			return
		}
		if ev.BotID != "" || ev.Subtype != "" {
			b.metrics.events.Counter(eventIgnored).Inc()
			b.done(ev)
			return
		}
		// A retry keeps its event_id; the same message can also come as two
		// events (app_mention and message.im), which share channel and ts.
		if !b.seen.first(ev.ID) || ev.TS != "" && !b.seen.first("msg:"+ev.Channel+"/"+ev.TS) {
			b.metrics.events.Counter(eventDuplicate).Inc()
			b.logger.Debug("duplicate event dropped", "event_id", ev.ID)
			b.done(ev)
			return
		}
		if queue.push(ev) {
			b.metrics.queued.Inc()
		} else {
			b.metrics.events.Counter(eventBusy).Inc()
			async(ev, func() {
				b.post(handlerCtx, tr, ev, "I'm busy with other commands right now; try again in a moment.")
				b.done(ev)
			})
		}
	}

	listening := make(chan struct{})
	if len(b.onStart) > 0 {
		notes.Go(func() { b.start(ctx, handlerCtx, tr, listening) })
	}

	b.logger.Info("bot running", "commands", len(b.cmds), "max_in_flight", b.maxInFlight)
	listenErr := tr.Listen(ctx, deliver)
	close(listening)

	mu.Lock()
	closed = true
	queue.close()
	mu.Unlock()

	done := make(chan struct{})
	go func() { workers.Wait(); notes.Wait(); close(done) }()
	if ctx.Err() == nil {
		<-done // input ended: let every command finish; each has its timeout
	} else {
		grace := time.NewTimer(b.gracePeriod)
		defer grace.Stop()
		select {
		case <-done:
		case <-grace.C:
			b.logger.Warn("grace period over; cancelling running commands", "grace", b.gracePeriod)
			cancelHandlers()
			<-done
		}
	}
	b.logger.Info("bot stopped")
	if listenErr != nil && !errors.Is(listenErr, context.Canceled) {
		return fmt.Errorf("listening: %w", listenErr)
	}
	return nil
}

// maxNotes bounds the notes (busy, expired) being posted at once.
const maxNotes = 256

// readyPoll is how often start asks a transport whether it is ready.
const readyPoll = 50 * time.Millisecond

// start runs the OnStart funcs once tr is ready, unless ctx ends or the
// transport stops listening first.
func (b *Bot) start(ctx, handlerCtx context.Context, tr Transport, listening <-chan struct{}) {
	if r, ok := tr.(Readier); ok {
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
	for i, f := range b.onStart {
		func() {
			fctx, cancel := context.WithTimeout(handlerCtx, b.commandTimeout)
			defer cancel()
			defer func() {
				if v := recover(); v != nil {
					b.metrics.errors.Counter("start").Inc()
					b.logger.Error("start func panicked", "index", i, "panic", fmt.Sprint(v))
				}
			}()
			if err := f(fctx, tr); err != nil {
				b.metrics.errors.Counter("start").Inc()
				b.logger.Error("start func failed", "index", i, "err", err)
			}
		}()
	}
}

func (b *Bot) done(ev Event) {
	if b.onDone != nil {
		b.onDone(ev)
	}
}

// post sends a plain reply in ev's thread, logging a failure.
func (b *Bot) post(ctx context.Context, tr Transport, ev Event, text string) {
	thread := ev.ThreadTS
	if thread == "" {
		thread = ev.TS
	}
	if _, err := tr.Post(ctx, Message{Channel: ev.Channel, ThreadTS: thread, Text: text}); err != nil {
		b.metrics.errors.Counter("post").Inc()
		b.logger.Error("posting reply", "channel", ev.Channel, "event_id", ev.ID, "err", err)
	}
}
