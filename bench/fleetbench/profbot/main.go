// Command profbot is bin/hello's ping on the same runner (botmain), for
// diagnosing botkit under fleetbench's burst. hello has no profiling
// endpoint and its main package cannot be imported, so this is the closest
// stand-in: the same runner, transport, dispatch and reply path.
//
//   - FLEETBENCH_CPUPROFILE=<file> writes a CPU profile of the whole run
//     there when the bot stops.
//   - FLEETBENCH_QUEUE=<n> runs the bot with botkit.WithQueueSize(n)
//     instead of botmain's defaults, wired as botmain wires Socket Mode
//     (JSON logs at info, metrics, the same Web API client) but without the
//     health server and config reload, to see what botkit does when a burst
//     fits its queue.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"syscall"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botmain"
	"github.com/botfleet/botfleet/pkg/botkit/slack"
)

// Config matches hello's, so hello's config file loads.
type Config struct {
	botkit.Settings `yaml:",inline"`
	Greeting        string `yaml:"greeting"`
}

func ping(b *botkit.Bot) {
	b.Command("ping", func(ctx context.Context, req *botkit.Request) error {
		_, err := req.Reply(ctx, "pong")
		return err
	}, botkit.Describe("Check that I am alive"))
}

func main() { os.Exit(run()) }

func run() int {
	if path := os.Getenv("FLEETBENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "profbot: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(os.Stderr, "profbot: starting the CPU profile: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if q := os.Getenv("FLEETBENCH_QUEUE"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "profbot: FLEETBENCH_QUEUE=%q: want a positive number\n", q)
			return 2
		}
		if err := runQueued(n); err != nil {
			fmt.Fprintf(os.Stderr, "profbot: %v\n", err)
			return 1
		}
		return 0
	}
	return botmain.Run(context.Background(), "hello", func(_ context.Context, b *botkit.Bot, _ *botkit.Live[Config], _ botkit.Env) error {
		ping(b)
		return nil
	}, botmain.Options{Args: os.Args[1:], Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Environ: os.Environ()})
}

// runQueued runs the ping bot over Socket Mode with a queue of n.
func runQueued(n int) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	reg := vm.NewSet()
	b := botkit.New("hello")
	ping(b)
	tr := slack.NewSocket(slack.SocketConfig{Registry: reg, Config: slack.Config{
		BotToken: botkit.Secret(os.Getenv("SLACK_BOT_TOKEN")), AppToken: botkit.Secret(os.Getenv("SLACK_APP_TOKEN")),
		APIURL: os.Getenv("SLACK_API_URL"), Logger: logger,
	}})
	return b.Run(ctx, tr, botkit.WithLogger(logger), botkit.WithRegistry(reg), botkit.WithQueueSize(n))
}
