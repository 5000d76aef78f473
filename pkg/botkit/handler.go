package botkit

import (
	"context"
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

// Command is a registered command: its pattern, handler and help.
type Command struct {
	pat      *pattern
	handler  Handler
	desc     string
	examples []string
	hidden   bool
	timeout  time.Duration
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
func (c *Command) Params() []string { return c.pat.params }

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
