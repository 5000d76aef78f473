package botkit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Handler runs a command. The context is cancelled when the command's
// timeout passes or the bot's shutdown grace period ends.
type Handler interface {
	ServeCommand(ctx context.Context, req *Request) error
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req *Request) error

// ServeCommand calls f(ctx, req).
func (f HandlerFunc) ServeCommand(ctx context.Context, req *Request) error { return f(ctx, req) }

// Middleware wraps a Handler, like net/http middleware.
type Middleware func(Handler) Handler

// Command is a registered command (its pattern, handler and help), or a
// listener of another kind (a slash command, an action, a view...), whose
// Name is its kind and ID: "action:approve".
type Command struct {
	kind      Kind
	inChannel bool   // a slash command's replies are seen by the channel
	title     string // a shortcut's name
	onMessage bool   // a message shortcut
	pat       *pattern
	handler   Handler
	desc      string
	examples  []string
	hidden    bool
	timeout   time.Duration
	defaults  []argDefault
	confirm   *confirmSpec
	prepare   HandlerFunc // see Prepare
	job       *Job        // set while Schedule applies its options
	hook      *hookSpec   // a webhook's checks
}

// argDefault fills in an optional parameter the message left out.
type argDefault struct {
	index int // in pat.params
	value func(req *Request) string
}

// Kind returns what the command listens to: KindMessage for a command,
// else the listener's kind.
func (c *Command) Kind() Kind { return c.kind }

// Title returns a shortcut's name, as Slack's menus show it.
func (c *Command) Title() string { return c.title }

// OnMessage reports whether a shortcut is a message shortcut.
func (c *Command) OnMessage() bool { return c.onMessage }

// Examples returns the examples given with Example.
func (c *Command) Examples() []string { return slices.Clone(c.examples) }

// InChannel reports whether a slash command's replies are seen by the
// channel.
func (c *Command) InChannel() bool { return c.inChannel }

// ID returns a listener's ID (action_id, callback_id, event type, slash
// command), or the command's name.
func (c *Command) ID() string {
	if c.kind == KindMessage || c.kind == KindSlash {
		return c.Name()
	}
	_, id, _ := strings.Cut(c.Name(), ":")
	return id
}

// Pattern returns the pattern the command was registered with.
func (c *Command) Pattern() string { return c.pat.src }

// Name returns the command's first word, such as "deploy".
func (c *Command) Name() string { return c.pat.name() }

// Usage returns the pattern as help shows it, such as
// "deploy &lt;app&gt; [to &lt;env&gt;]" (escaped for Slack).
func (c *Command) Usage() string { return c.pat.usage() }

// Description returns the text given with Describe.
func (c *Command) Description() string { return c.desc }

// Hidden reports whether help leaves the command out.
func (c *Command) Hidden() bool { return c.hidden }

// Params returns the names of the pattern's parameters, in order.
func (c *Command) Params() []string { return slices.Clone(c.pat.params) }

// CommandOption configures a command at registration.
type CommandOption func(*Command)

// Describe sets the one-line description shown by help.
func Describe(text string) CommandOption { return func(c *Command) { c.desc = text } }

// Example adds an example invocation shown by "help <command>".
func Example(text string) CommandOption {
	return func(c *Command) { c.examples = append(c.examples, text) }
}

// Hidden leaves the command out of the help listing; it still runs.
func Hidden() CommandOption { return func(c *Command) { c.hidden = true } }

// Default fills in the optional parameter name when a message leaves it
// out, with what value returns (which may read the request's other
// arguments, say an app's default environment). It runs before the access
// check, so a rule on env=prd also applies to a run where prd is only the
// default; the value is made canonical like a typed one, and the handler's
// req.Arg sees it too. value is called on the
// bot's dispatch goroutine for each run that needs it: it must be quick and
// safe for concurrent use. An empty result leaves the parameter empty.
// Default panics when name is not a parameter of the command's pattern.
func Default(name string, value func(req *Request) string) CommandOption {
	return func(c *Command) {
		i := slices.Index(c.pat.params, name)
		if i < 0 {
			panic(fmt.Sprintf("botkit: Default for %q: pattern %q has no parameter %q", name, c.pat.src, name))
		}
		if value == nil {
			panic(fmt.Sprintf("botkit: Default for %q: nil func", name))
		}
		c.defaults = append(c.defaults, argDefault{index: i, value: value})
	}
}

// Timeout sets the command's own timeout, overriding the bot's default
// (WithCommandTimeout).
func Timeout(d time.Duration) CommandOption {
	return func(c *Command) {
		if d <= 0 {
			panic("botkit: Timeout must be positive")
		}
		c.timeout = d
	}
}
