// Package botkit is the framework every botfleet Slack bot is built on:
// commands as typed patterns with generated help, a transport-independent
// core (Socket Mode, HTTP Events API, console and test transports plug in),
// one error policy, middleware, bounded concurrency and graceful shutdown.
//
// A bot registers commands and runs:
//
//	b := botkit.New("hello")
//	b.Command("echo {text...}", func(ctx context.Context, req *botkit.Request) error {
//		_, err := req.Reply(ctx, botkit.Escape(req.Arg("text")))
//		return err
//	}, botkit.Describe("Repeat the text"))
//	err := b.Run(ctx, transport)
//
// # Patterns
//
// A pattern is words separated by spaces: a literal word (matched without
// regard to case), {name} (one word), {name...} (the rest of the message,
// last only) and trailing optional groups in brackets: "deploy {app}
// {branch} [to {env}]". The first word is a literal, the command's name.
// Before matching, the leading mention is stripped and white space
// (non-breaking spaces too) is folded. Slack markup in arguments is decoded.
//
// When several patterns match, the most specific wins: at the first word
// where they differ, a literal beats a parameter, which beats a rest.
// Patterns that would match the same message with the same precedence make
// Command panic, as do malformed ones, so that mistakes fail at start.
//
// # Errors
//
// Handlers return errors. A *UserError (see Userf) is shown to the user as
// is; any other error is logged with the request's attributes and the user
// gets one line with a short correlation id to quote.
package botkit
