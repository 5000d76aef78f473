package fleetbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// Timings of a run.
const (
	// connectTimeout bounds the wait for a started bot to open its socket.
	connectTimeout = 30 * time.Second
	// settle is how long a bot runs connected before the burst, so its
	// start-up work is not measured as burst work.
	settle = 500 * time.Millisecond
	// burstTimeout bounds the wait for every ack and reply of a burst.
	burstTimeout = 90 * time.Second
	// poll is how often a run checks whether the burst is done. Figures come
	// from the fake's own timestamps, so it only delays the next step.
	poll = 25 * time.Millisecond
	// stall is how long a burst may make no progress (no new ack or reply)
	// before the bot is taken to have dropped what is missing.
	stall = 5 * time.Second
	// stopTimeout bounds the wait for a bot to exit after SIGTERM.
	stopTimeout = 20 * time.Second
)

// The mentions of a burst: all from one user, in one channel, so nothing
// per-user (rate limits, the queue) is spread over several.
const (
	User    = "U0BENCH"
	Channel = "C0BENCH"
)

// RepoRoot returns the directory holding go.work, found by walking up from
// dir.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("finding the repo root: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.work in %s or any parent: run from inside the botfleet repo", dir)
		}
	}
}

// Binaries fleetbench builds: each name's module (relative to the repo
// root) and package in it.
var binaries = map[string]struct{ module, pkg string }{
	"hello":      {"bots/hello", "."},
	"minimalbot": {"bench", "./fleetbench/minimalbot"},
	"profbot":    {"bench", "./fleetbench/profbot"},
}

// Build builds the named binaries (hello, minimalbot, profbot) into dir, as
// `make build` builds a bot for its image: each module alone (GOWORK=off),
// static, stripped. It returns their paths by name.
func Build(ctx context.Context, root, dir string, names ...string) (map[string]string, error) {
	paths := map[string]string{}
	for _, name := range names {
		b, ok := binaries[name]
		if !ok {
			return nil, fmt.Errorf("no binary %q to build; fleetbench builds hello, minimalbot and profbot", name)
		}
		out := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, b.pkg)
		cmd.Dir = filepath.Join(root, filepath.FromSlash(b.module))
		cmd.Env = append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s in %s: %w\n%s", b.pkg, cmd.Dir, err, out)
		}
		paths[name] = out
	}
	return paths, nil
}

// Bot is a bot binary to measure.
type Bot struct {
	Name string   // as reported: botkit, minimal
	Path string   // the binary
	Dir  string   // its working directory
	Env  []string // added to the Slack variables and the cleaned environment
}

// Result is what one burst measured.
type Result struct {
	Mentions      int
	AcksPerSec    float64
	AckP50        time.Duration
	AckP99        time.Duration
	RepliesPerSec float64
	PeakRSS       int64          // bytes (VmHWM)
	IdleRSS       int64          // bytes (VmRSS), idle after the burst
	StartRSS      int64          // bytes (VmRSS), connected, before the burst
	Calls         map[string]int // Web API calls by method, for diagnosis
	// CPU time the bot and this process (the fake and the harness) used
	// during the burst, and Wall, from the first mention to the last ack or
	// reply: with 2 cores, CPU near 2×Wall means the machine, not the bot,
	// set the pace.
	BotCPU, FakeCPU, Wall time.Duration
	Create                time.Duration // the fake creating the burst's envelopes
	WriteSpan             time.Duration // the fake writing them, first to last
}

// Burst starts bot against a fresh fake Slack, sends it n mentions "ping"
// at once, waits for every ack and reply, leaves it idle for idle, and
// stops it with SIGTERM. It returns an error, with the bot's log, if a
// mention is not acked or the bot fails or exits uncleanly, and a
// *RepliesError if a mention does not get exactly one "pong" in its thread.
func Burst(tb testing.TB, bot Bot, n int, idle time.Duration) (Result, error) {
	tb.Helper()
	srv := slacktest.New(tb, slacktest.WithWaitTimeout(burstTimeout))
	p, err := startBot(tb, bot, srv)
	if err != nil {
		return Result{}, err
	}
	defer p.kill()
	for deadline := time.Now().Add(connectTimeout); srv.OpenSockets() == 0; time.Sleep(poll) {
		if p.exited() || time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%s: no Socket Mode connection within %v\n%s", bot.Name, connectTimeout, p.log())
		}
	}
	time.Sleep(settle)
	before, err := procStatus(p.cmd.Process.Pid)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", bot.Name, err)
	}

	botCPU0, err := procCPU(p.cmd.Process.Pid)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", bot.Name, err)
	}
	selfCPU0 := selfCPU()
	start := time.Now()
	for range n {
		srv.Mention(User, Channel, "ping")
	}
	res := Result{Mentions: n, Create: time.Since(start), StartRSS: before.rss}

	// Done when every mention is acked and answered, or when nothing moved
	// for a while: a bot that drops mentions is then measured and reported
	// rather than waited for.
	deadline, progress, seen := time.Now().Add(burstTimeout), time.Now(), 0
	for {
		acks, msgs := len(srv.Acks()), len(srv.Messages())
		if acks+msgs != seen {
			seen, progress = acks+msgs, time.Now()
		}
		if acks >= n && msgs >= n {
			break
		}
		if time.Now().After(deadline) || p.exited() || acks < n && time.Since(progress) > stall {
			return res, fmt.Errorf("%s: %d acks and %d replies of %d mentions after %v\n%s",
				bot.Name, acks, msgs, n, time.Since(start).Round(time.Millisecond), p.log())
		}
		if time.Since(progress) > stall {
			break // all acked, some never answered: checkReplies says which
		}
		time.Sleep(poll)
	}
	res.Wall = progress.Sub(start) // not the stall: the last ack or reply, to within poll
	res.FakeCPU = selfCPU() - selfCPU0
	if c, err := procCPU(p.cmd.Process.Pid); err == nil {
		res.BotCPU = c - botCPU0
	}
	// Late duplicates would arrive while the bot idles: check after it.
	time.Sleep(idle)
	st, err := procStatus(p.cmd.Process.Pid)
	if err != nil {
		return res, fmt.Errorf("%s: %w", bot.Name, err)
	}
	res.PeakRSS, res.IdleRSS = st.hwm, st.rss
	if open := srv.OpenSockets(); open != 1 {
		return res, fmt.Errorf("%s: %d sockets open when idle, want 1 (still connected)\n%s", bot.Name, open, p.log())
	}
	if err := measure(&res, srv.Envelopes(), srv.Acks(), srv.Calls("chat.postMessage")); err != nil {
		return res, fmt.Errorf("%s: %w", bot.Name, err)
	}
	res.Calls = map[string]int{}
	for _, c := range srv.Calls("") {
		res.Calls[c.Method]++
	}
	if err := p.stop(); err != nil {
		return res, fmt.Errorf("%s: %w\n%s", bot.Name, err, p.log())
	}
	if err := checkReplies(srv.Events(), srv.Messages()); err != nil {
		return res, &RepliesError{Bot: bot.Name, Err: err}
	}
	return res, nil
}

// RepliesError is Burst's error when the bot ran the burst through but
// did not answer every mention exactly once with "pong". The Result
// returned with it holds valid figures.
type RepliesError struct {
	Bot string
	Err error
}

func (e *RepliesError) Error() string { return e.Bot + ": " + e.Err.Error() }
func (e *RepliesError) Unwrap() error { return e.Err }

// measure fills res's timings from what the fake recorded.
func measure(res *Result, envs []slacktest.Envelope, acks []slacktest.Ack, posts []slacktest.Call) error {
	sent := make(map[string]time.Time, len(envs))
	var first, lastWrite time.Time
	for _, e := range envs {
		if e.SentAt.IsZero() {
			return fmt.Errorf("envelope %s was never written", e.ID)
		}
		sent[e.ID] = e.SentAt
		if first.IsZero() || e.SentAt.Before(first) {
			first = e.SentAt
		}
		lastWrite = later(lastWrite, e.SentAt)
	}
	if len(sent) == 0 {
		return errors.New("no envelopes were sent")
	}
	acked := make(map[string]bool, len(acks))
	lats := make([]time.Duration, 0, len(acks))
	var lastAck time.Time
	for _, a := range acks {
		at, ok := sent[a.EnvelopeID]
		if !ok {
			return fmt.Errorf("ack of unknown envelope %q: %s", a.EnvelopeID, a.Raw)
		}
		if acked[a.EnvelopeID] {
			continue // a second ack of one envelope is harmless; time the first
		}
		acked[a.EnvelopeID] = true
		lats = append(lats, a.Latency)
		lastAck = later(lastAck, at.Add(a.Latency))
	}
	if len(acked) != len(sent) {
		return fmt.Errorf("%d of %d envelopes acked", len(acked), len(sent))
	}
	var lastPost time.Time
	for _, c := range posts {
		lastPost = later(lastPost, c.At)
	}
	slices.Sort(lats)
	res.AckP50, res.AckP99 = Percentile(lats, 50), Percentile(lats, 99)
	res.AcksPerSec = rate(len(acked), lastAck.Sub(first))
	res.RepliesPerSec = rate(len(posts), lastPost.Sub(first))
	res.WriteSpan = lastWrite.Sub(first)
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// checkReplies checks that every mention got exactly one "pong" in its
// thread, in its channel, and that the bot posted nothing else: a busy
// note or an error line is a mention botkit did not let through.
func checkReplies(events []slacktest.Event, msgs []slacktest.Message) error {
	pongs := make(map[string]int, len(events))
	for _, e := range events {
		pongs[e.TS] = 0
	}
	var other, dups int
	var examples []string
	example := func(format string, args ...any) {
		if len(examples) < 3 {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	for _, m := range msgs {
		n, ok := pongs[m.ThreadTS]
		switch {
		case m.Method != "chat.postMessage" || m.Text != "pong" || m.Channel != Channel || !ok:
			other++
			example("%s in %s thread %q: %q", m.Method, m.Channel, m.ThreadTS, m.Text)
			continue
		case n == 1:
			dups++
			example("a second pong to mention %s", m.ThreadTS)
		}
		pongs[m.ThreadTS] = n + 1
	}
	answered, missing := 0, 0
	for _, n := range pongs {
		switch n {
		case 0:
			missing++
		case 1:
			answered++
		}
	}
	if answered == len(events) && other == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d mentions got exactly one pong; %d got none, %d got more than one, and %d other messages were posted; for example:\n  %s",
		answered, len(events), missing, dups, other, strings.Join(examples, "\n  "))
}

// Percentile returns the p-th percentile (nearest rank) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// process is a bot binary running against the fake.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error // set before done closes
}

func startBot(tb testing.TB, bot Bot, srv *slacktest.Server) (*process, error) {
	logPath := filepath.Join(tb.TempDir(), bot.Name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the bot's log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bot.Path)
	cmd.Dir = bot.Dir
	cmd.Env = append(cleanEnv(os.Environ()), "SLACK_BOT_TOKEN="+slacktest.BotToken,
		"SLACK_APP_TOKEN="+slacktest.AppToken, "SLACK_API_URL="+srv.APIURL())
	cmd.Env = append(cmd.Env, bot.Env...)
	// A file, not a pipe read by this process: the bot writes its log as in a
	// pod, and copying it costs the benchmark's CPU nothing.
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bot.Path, err)
	}
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// cleanEnv drops the Slack and bot variables of the benchmark's own
// environment, so a developer's shell cannot change what is measured.
func cleanEnv(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		return strings.HasPrefix(kv, "SLACK_") || strings.HasPrefix(kv, "BOT_")
	})
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func (p *process) stop() error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("sending SIGTERM: %w", err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			return fmt.Errorf("exit after SIGTERM: %w", p.err)
		}
		return nil
	case <-time.After(stopTimeout):
		return fmt.Errorf("no exit within %v of SIGTERM", stopTimeout)
	}
}

func (p *process) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// log returns the end of what the bot logged, for error messages.
func (p *process) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	const tail = 4000
	if len(b) > tail {
		b = append([]byte("…"), b[len(b)-tail:]...)
	}
	return "bot log:\n" + string(b)
}

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ), 100 on
// every Linux Go supports but alpha, which Go does not.
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system CPU time pid used so far.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the bot's CPU time: %w", err)
	}
	return parseStat(b)
}

// parseStat reads utime+stime from a /proc/<pid>/stat line.
func parseStat(stat []byte) (time.Duration, error) {
	// The command name, field 2, is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing /proc stat %q: no command name", stat)
	}
	f := strings.Fields(string(stat[i+1:])) // from field 3, state
	if len(f) < 13 {
		return 0, fmt.Errorf("parsing /proc stat %q: %d fields", stat, len(f)+2)
	}
	var ticks int64
	for _, v := range f[11:13] { // fields 14 and 15: utime, stime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parsing /proc stat: CPU time %q: %w", v, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// selfCPU returns the CPU time this process used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type memStatus struct{ hwm, rss int64 }

func procStatus(pid int) (memStatus, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memStatus{}, fmt.Errorf("reading the bot's memory: %w", err)
	}
	return parseStatus(b)
}

// parseStatus reads VmHWM and VmRSS, in bytes, from a /proc/<pid>/status.
func parseStatus(status []byte) (memStatus, error) {
	var st memStatus
	fields := map[string]*int64{"VmHWM": &st.hwm, "VmRSS": &st.rss}
	found := 0
	for line := range bytes.Lines(status) {
		name, val, ok := strings.Cut(string(line), ":")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		kb, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return st, fmt.Errorf("parsing %s in /proc status: %q", name, strings.TrimSpace(string(line)))
		}
		*dst = kb * 1024
		found++
	}
	if found != len(fields) {
		return st, errors.New("/proc status lacks VmHWM or VmRSS")
	}
	return st, nil
}

// Delivery measures the fake alone: it sends n mentions to a client that
// does nothing but ack each envelope, and returns the envelopes acked per
// second. A bot slower than that is not held back by the fake's writer.
func Delivery(tb testing.TB, n int) (float64, error) {
	tb.Helper()
	srv := slacktest.New(tb, slacktest.WithWaitTimeout(burstTimeout))
	ctx, cancel := context.WithTimeout(context.Background(), burstTimeout)
	defer cancel()
	api := slack.New("", slack.OptionAppLevelToken(slacktest.AppToken), slack.OptionAPIURL(srv.APIURL()))
	_, url, err := api.StartSocketModeContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("opening a socket on the fake: %w", err)
	}
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return 0, fmt.Errorf("dialling the fake's socket: %w", err)
	}
	defer ws.Close()
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var env struct {
				ID string `json:"envelope_id"`
			}
			if json.Unmarshal(data, &env) == nil && env.ID != "" {
				if ws.WriteJSON(map[string]string{"envelope_id": env.ID}) != nil {
					return
				}
			}
		}
	}()
	srv.WaitConnected(tb)
	for range n {
		srv.Mention(User, Channel, "ping")
	}
	// Polled rather than srv.WaitFor, which re-checks on every ack: copying
	// the acks thousands of times would slow the fake it measures.
	for deadline := time.Now().Add(burstTimeout); len(srv.Acks()) < n; time.Sleep(poll) {
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("null client: %d of %d envelopes acked within %v", len(srv.Acks()), n, burstTimeout)
		}
	}
	var res Result
	if err := measure(&res, srv.Envelopes(), srv.Acks(), nil); err != nil {
		return 0, fmt.Errorf("null client: %w", err)
	}
	return res.AcksPerSec, nil
}
