package botkit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
)

// Bot is a bot's router: what it registers (commands, middleware, start-up
// work and requirements) and the help generated from it, like
// net/http's ServeMux. Register everything, then hand it to Run or
// NewRuntime, which make the runtime that owns every mutable part (queue,
// dedupe, pending confirmations, settings). Once a runtime is made the Bot
// is fixed: registering panics. Its read methods are safe for concurrent
// use.
type Bot struct {
	name       string
	cmds       []*Command
	routes     map[string][]route // by first word, most specific first
	middleware []Middleware
	onStart    []StartFunc
	requires   []Requirement
	listeners  map[listenerKey]*Command
	order      []*Command // listeners, in registration order
	home       HomeFunc
	jobs       []*Job
	frozen     atomic.Bool
}

// New returns a bot named name (its Slack handle, used in help and logs).
func New(name string) *Bot {
	return &Bot{name: name, routes: make(map[string][]route)}
}

// Name returns the bot's name.
func (b *Bot) Name() string { return b.name }

// Commands returns the registered commands in registration order.
func (b *Bot) Commands() []*Command { return slices.Clone(b.cmds) }

// Use appends middleware, run around every handler in the order given
// (the first is outermost), inside botkit's own (audit, rate limit, access,
// confirmation, timeout). It panics once a runtime is made.
func (b *Bot) Use(mw ...Middleware) {
	b.mustNotBeFrozen("Use")
	b.middleware = append(b.middleware, mw...)
}

// Command registers h to run for messages matching pattern. It panics when
// the pattern is malformed, names the reserved command help, or is
// ambiguous with a pattern already registered (some message would match both
// with the same precedence), so that a mistake fails at start and in tests,
// never in Slack.
func (b *Bot) Command(pat string, h HandlerFunc, opts ...CommandOption) *Command {
	b.mustNotBeFrozen("Command")
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

func (b *Bot) mustNotBeFrozen(what string) {
	if b.frozen.Load() {
		panic("botkit: " + what + " called after the bot started running")
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
// f does not run. OnStart panics once a runtime is made or when f is nil.
func (b *Bot) OnStart(f StartFunc) {
	b.mustNotBeFrozen("OnStart")
	if f == nil {
		panic("botkit: nil OnStart func")
	}
	b.onStart = append(b.onStart, f)
}

// Requirement is something outside the bot that it needs to work, such as
// a program on PATH: Check returns an error saying what is missing and how
// to fix it, or nil.
type Requirement struct {
	Name  string
	Check func(ctx context.Context) error
}

// Requires registers a requirement. The runner checks every requirement
// with -check-config (failing it), at start (logging what is missing) and on
// each /readyz (not ready while one fails), so a missing program is found
// before a user runs into it. Check must be quick and safe for concurrent
// use. Requires panics once a runtime is made or when check is nil.
func (b *Bot) Requires(name string, check func(ctx context.Context) error) {
	b.mustNotBeFrozen("Requires")
	if check == nil {
		panic("botkit: nil requirement check for " + name)
	}
	b.requires = append(b.requires, Requirement{Name: name, Check: check})
}

// CheckRequirements runs every requirement's check and returns what fails,
// one line each, or nil.
func (b *Bot) CheckRequirements(ctx context.Context) error {
	var errs []error
	for _, r := range b.requires {
		if err := r.Check(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
		}
	}
	return errors.Join(errs...)
}

// match finds the command for text (already stripped of the mention and
// normalized) and binds its arguments' words as typed; pattern.bind turns
// them into values.
func (b *Bot) match(text string) (*Command, []string) {
	var buf [16]span
	toks := tokenize(text, buf[:0])
	if len(toks) == 0 {
		return nil, nil
	}
	first := text[toks[0].start:toks[0].end]
	routes, ok := b.routes[first]
	if !ok {
		routes = b.routes[asciiLower(first)]
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

// commandsNamed returns the commands whose first word is name.
func (b *Bot) commandsNamed(name string) []*Command {
	var out []*Command
	for _, c := range b.cmds {
		if c.Name() == asciiLower(name) {
			out = append(out, c)
		}
	}
	return out
}

// names returns the commands' first words, each once.
func (b *Bot) names() []string {
	var out []string
	for _, c := range b.cmds {
		if !slices.Contains(out, c.Name()) {
			out = append(out, c.Name())
		}
	}
	return out
}

// asciiLower lowercases ASCII letters only; it does not allocate when s has
// none upper-case.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
