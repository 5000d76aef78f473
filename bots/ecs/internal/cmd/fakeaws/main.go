// Command fakeaws serves the ecs bot's fake AWS (internal/ecsfake: ECS, ECR
// and STS at their wire protocol) on loopback, with the clusters, services
// and images that config/local.yaml names, so that every ecs command can be
// tried with no AWS account. `make run BOT=ecs` runs the bot through it:
//
//	cd bots/ecs && go run ./internal/cmd/fakeaws -- go run .
//
// With a command after --, it runs the command pointed at the fake (BOT_ENV
// local, the fake's endpoint and key, no other AWS setting from the shell)
// and exits with its exit code. Alone, it serves until interrupted and prints
// how to point the bot at it. -addr sets the address (127.0.0.1:0 picks a
// port). It refuses to run when BOT_ENV is anything but local; the bot, for
// its part, refuses the fake's key outside BOT_ENV=local.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/botfleet/botfleet/bots/ecs/internal/ecsfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Environ()))
}

// pollInterval makes rollouts against the fake quick to watch; the fake
// moves a deployment one step each time it is described.
const pollInterval = "1s"

// run serves the fake until ctx is done or, with a command in args, until
// the command exits, whatever ctx does; it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, environ []string) int {
	fs := flag.NewFlagSet("fakeaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "loopback address to serve the fake AWS on")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if env := lookup(environ, "BOT_ENV"); env != "" && env != "local" {
		fmt.Fprintf(stderr, "fakeaws: BOT_ENV is %q: the fake AWS is only for BOT_ENV=local, so that nothing but a local run can take it for AWS\n", env)
		return 2
	}
	f, err := ecsfake.Start(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "fakeaws: %v\n", err)
		return 1
	}
	defer f.Close()
	seed(f)
	dir, err := os.MkdirTemp("", "fakeaws-")
	if err != nil {
		fmt.Fprintf(stderr, "fakeaws: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	vars := botEnv(f, dir, environ)
	banner(stderr, f.URL)

	if fs.NArg() == 0 {
		fmt.Fprintf(stdout, "Point the ecs bot at it from another terminal:\n\n  cd bots/ecs && env %s go run .\n\nCtrl-C stops the fake.\n", strings.Join(vars, " "))
		<-ctx.Done()
		return 0
	}
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.Env = append(withoutAWS(environ), vars...)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stderr, "fakeaws: %v\n", err)
		return 1
	}
	// Signals are the command's: Ctrl-C reaches the whole process group,
	// the bot included, which shuts down by itself (`go run` passes none
	// on). main catches them, so the fake outlives the bot it serves.
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintf(stderr, "fakeaws: %v\n", err)
		return 1
	}
	return 0
}

// botEnv is what points the bot at the fake: the fake's endpoint and key,
// no shared config files (dir holds none), BOT_ENV=local, a short
// poll_interval and make run's BOT_STATE_DIR unless the shell sets them.
func botEnv(f *ecsfake.Fake, dir string, environ []string) []string {
	var vars []string
	for k, v := range f.Environ(dir) {
		if v != "" {
			vars = append(vars, k+"="+v)
		}
	}
	slices.Sort(vars)
	vars = append(vars, "BOT_ENV=local")
	if lookup(environ, "BOT_CFG_POLL_INTERVAL") == "" {
		vars = append(vars, "BOT_CFG_POLL_INTERVAL="+pollInterval)
	}
	if lookup(environ, "BOT_STATE_DIR") == "" {
		// The bot's jobs need a state directory: make run's, from
		// bots/ecs, where the fake runs.
		if dir, err := filepath.Abs(filepath.Join("..", "..", ".local", "ecs", "state")); err == nil {
			vars = append(vars, "BOT_STATE_DIR="+dir)
		}
	}
	return vars
}

// withoutAWS is environ without AWS_* and BOT_ENV: the shell's profile,
// keys or endpoints must not mix with the fake's.
func withoutAWS(environ []string) []string {
	var out []string
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "BOT_ENV=") {
			out = append(out, kv)
		}
	}
	return out
}

func lookup(environ []string, key string) string {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func banner(w io.Writer, url string) {
	fmt.Fprintf(w, `
==================================================================================
 FAKE AWS: ECS, ECR and STS are a local fake on %s.
 Nothing reaches a real AWS account; the fake forgets everything when it stops.
 botfleet-dev: api (2 tasks), worker (1), legacy (not in the config)
 botfleet-prd: api (3 tasks; the config lets only S0PLATFORM change prd)
 images: botfleet/api v1 (running), v2, v3-bad (its tasks fail to start);
         botfleet/worker w7 (running), w8
 try: services, status api, tags api, deploy api v2, deploy api v3-bad,
      rollback api, scale worker 3, services in prd, help
==================================================================================

`, url)
}

// seed creates what config/local.yaml names (and one service it does not).
func seed(f *ecsfake.Fake) {
	api := f.Register("api", "app", ecsfake.Registry+"/botfleet/api:v1", map[string]any{
		"environment":  []any{map[string]any{"name": "MODE", "value": "web"}},
		"portMappings": []any{map[string]any{"containerPort": 8080, "protocol": "tcp"}},
	})
	f.AddService("botfleet-dev", "api", api, 2)
	f.AddService("botfleet-prd", "api", api, 3)
	f.AddService("botfleet-dev", "worker", f.Register("worker", "worker", ecsfake.Registry+"/botfleet/worker:w7", nil), 1)
	f.AddService("botfleet-dev", "legacy", f.Register("legacy", "main", "nginx:1.27", nil), 1)
	for _, tag := range []string{"v1", "v2", "v3-bad"} {
		f.PushImage("botfleet/api", tag)
	}
	f.Break(ecsfake.Registry + "/botfleet/api:v3-bad")
	for _, tag := range []string{"w7", "w8"} {
		f.PushImage("botfleet/worker", tag)
	}
}
