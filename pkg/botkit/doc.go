// Package botkit is the framework every botfleet Slack bot is built on:
// commands as typed patterns with generated help, a transport-independent
// core (Socket Mode, HTTP Events API, console and test transports plug in),
// one error policy, middleware, bounded concurrency and graceful shutdown.
//
// A bot registers commands on its router, a Bot, and runs it; the runtime
// made per run (NewRuntime) owns what changes while the bot runs: the
// queue, dedupe, the commands waiting for a confirmation or an approval,
// the settings:
//
//	b := botkit.New("hello")
//	b.Command("echo {text...}", func(ctx context.Context, req *botkit.Request) error {
//		_, err := req.Reply(ctx, botkit.Escape(req.Arg("text")))
//		return err
//	}, botkit.Describe("Repeat the text"))
//	rt := botkit.NewRuntime(b, botkit.WithLogger(logger))
//	err := rt.Apply(settings) // access rules, audit channel, rate limit; again on reload
//	err = rt.Run(ctx, transport)
//
// Around every handler run botkit's middleware, in this order: audit (one
// line per run, whatever became of it), rate limit, access, confirmation
// (a command that asks is parked and runs when answered, holding no
// worker meanwhile), approval (the same, until enough members of the
// rule's user groups approve; never the requester), the command's
// timeout, panic recovery, then the bot's own middleware.
//
// # Confirmations and approvals
//
// A command asks for a confirmation with Confirm, or an access rule asks
// with confirm: true; a rule's approve: asks others (Approval). A Prepare
// func fixes what the command will act on (Request.Freeze) before anyone
// is asked; approvers see it, and the command reads it back with
// Request.Frozen, so it runs exactly what was approved.
//
// Each waiting command is a record that holds everything needed to run it:
// the pattern, text, canonical arguments, frozen details, requester,
// channel and thread. With WithStateDir the records live in the bot's
// state directory (InteractionsDir), so a click after a restart, or at
// another process sharing the directory, runs the command; each record is
// decided exactly once by a file created with O_EXCL, so two clicks, or
// one delivered twice or to two processes, decide once. Without a state
// directory the records live in memory (the console, tests). Access rules
// are checked again when the command runs after its answer.
//
// # The inbox
//
// With WithStateDir, every Events API event and webhook delivery is
// recorded in the state directory's inbox (InboxDir) before it is
// acknowledged: the transport delivers it with an Event.Ack, which the
// runtime calls once the record is written and synced (off the transport's
// goroutine, many at once). The record, created once, is also the claim
// that dedupes the event across processes sharing the directory; memory is
// the fast first check. After handling, the record is marked done, and the
// first reply posted is noted. Each running process holds a lock file in
// the inbox; a live process lists the inbox every few seconds and takes
// over, once, the unfinished events of processes whose lock is free, and
// runs them, unless their reply was noted. So an acked event is handled at
// least once though its process is killed, a retry reaching another
// process is not handled again, and a taken-over event is not answered
// twice where its reply was noted. On shutdown, queued events not started
// within the grace period stay in the inbox for the next process. Without
// a state directory, events are acked at once and nothing is recorded.
//
// # Patterns
//
// A pattern is words separated by spaces: a literal word (matched without
// regard to ASCII case), {name} (one word), {name:type} (one word of a type:
// name, plain, int, N..M, duration, user, channel or choices a|b), {name...}
// (the rest of the message, last only) and trailing optional groups in
// brackets: "deploy {app:name} {branch:plain} [to {env:name}]". The first
// word is a literal, the command's name. Before matching, the leading
// mention is stripped, white space (non-breaking spaces too) is folded and
// control characters become U+FFFD. A typed argument's value is canonical,
// made once, and is what access rules, the audit line and the handler see;
// Slack markup in untyped arguments is decoded.
//
// When several patterns match, the most specific wins: at the first word
// where they differ, a literal beats a parameter, which beats a rest.
// Patterns that would match the same message with the same precedence make
// Command panic, as do malformed ones, so that mistakes fail at start.
//
// # Scheduled jobs
//
// Schedule registers a job that the clock starts, at the ticks of a cron
// expression read in a time zone of its own (the zone database is built
// in, so a distroless image knows the zones):
//
//	b.Schedule("standup", "0 9 * * MON-FRI", d.standup,
//		botkit.In("Europe/Paris"), botkit.CatchUp(2*time.Hour), botkit.Describe("Open the stand-up thread"))
//
// A run's Request (KindSchedule) posts and edits like a command's, in the
// channel the config's schedule.channel names; its context ends after the
// job's timeout; it leaves an audit line and metrics, and a failure is
// posted to schedule.errors_channel. A tick that finds the previous run
// still going is skipped and counted (unless Overlap). With a state
// directory (BOT_STATE_DIR, its schedule/), each tick is claimed by creating a file there with
// O_EXCL, so that of the processes sharing it exactly one runs the tick,
// and after a restart the latest tick missed runs once if it is within the
// job's CatchUp window, the others counted as missed. Help and the App
// Home list the jobs with their next run. Jobs run outside access rules,
// rate limits and confirmations, which are about people; the bot's own
// middleware wraps them.
//
// # Errors
//
// Handlers return errors. A *UserError (see Userf) is shown to the user as
// is; any other error is logged with the request's attributes and the user
// gets one line with a short correlation id to quote.
package botkit
