package fleetbench

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
)

// readyTimeout bounds the wait for a started process to answer /readyz
// with 200 (connected to Slack).
const readyTimeout = 30 * time.Second

// Fleet runs processes of one bot against one fake Slack, as the pods of a
// Deployment: each started, waited for until ready, then stopped with
// SIGTERM or killed.
type Fleet struct {
	Slack *slacktest.Server
	bot   Bot
	tb    testing.TB
	mu    sync.Mutex
	procs []*Proc
}

// NewFleet returns a fleet of bot against srv. Every process it started
// and did not stop is killed when the test ends.
func NewFleet(tb testing.TB, bot Bot, srv *slacktest.Server) *Fleet {
	f := &Fleet{Slack: srv, bot: bot, tb: tb}
	tb.Cleanup(func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, p := range f.procs {
			p.kill()
		}
	})
	return f
}

// Proc is one process of a fleet.
type Proc struct {
	*process
	N    int    // 1 for the fleet's first process
	addr string // its HTTP server's, once logged
}

// Start starts a process and waits until its /readyz answers 200.
func (f *Fleet) Start() (*Proc, error) {
	f.mu.Lock()
	n := len(f.procs) + 1
	f.mu.Unlock()
	bot := f.bot
	bot.Name = fmt.Sprintf("%s-%d", f.bot.Name, n)
	p, err := startBot(f.tb, bot, f.Slack)
	if err != nil {
		return nil, err
	}
	pr := &Proc{process: p, N: n}
	f.mu.Lock()
	f.procs = append(f.procs, pr)
	f.mu.Unlock()
	if err := pr.waitReady(); err != nil {
		pr.kill()
		return nil, fmt.Errorf("%s: %w\n%s", bot.Name, err, p.log())
	}
	return pr, nil
}

var listening = regexp.MustCompile(`"msg":"http server listening".*?"addr":"([^"]+)"`)

// waitReady waits until the process logged its address and /readyz there
// answers 200.
func (p *Proc) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(readyTimeout); ; time.Sleep(poll) {
		if p.exited() {
			return fmt.Errorf("exited before it was ready: %v", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %v", readyTimeout)
		}
		if p.addr == "" {
			b, _ := os.ReadFile(p.logPath)
			if m := listening.FindSubmatch(b); m != nil {
				p.addr = string(m[1])
			}
			continue
		}
		resp, err := client.Get("http://" + p.addr + "/readyz")
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return nil
		}
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Proc) Stop() error {
	if err := p.stop(); err != nil {
		return fmt.Errorf("process %d: %w\n%s", p.N, err, p.log())
	}
	return nil
}

// Kill kills the process with SIGKILL, as kill -9 or an OOM kill does, and
// waits for it to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Sent is a mention a Stream sent.
type Sent struct {
	EventID string
	At      time.Time
}

// Stream sends mentions "ping" at a steady rate until stopped.
type Stream struct {
	srv  *slacktest.Server
	stop chan struct{}
	done chan struct{}
	sent []Sent
}

// StartStream starts sending perSecond mentions a second through srv.
func StartStream(srv *slacktest.Server, perSecond int) *Stream {
	s := &Stream{srv: srv, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(time.Second / time.Duration(perSecond))
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				id, _ := srv.Mention(User, Channel, "ping")
				s.sent = append(s.sent, Sent{EventID: id, At: time.Now()})
			}
		}
	}()
	return s
}

// Stop stops the stream and returns what it sent.
func (s *Stream) Stop() []Sent {
	close(s.stop)
	<-s.done
	return s.sent
}

// Tally is what became of the mentions of a stream.
type Tally struct {
	Mentions   int
	Acked      int // mentions one of whose envelopes a process acked
	Answered   int // mentions with at least one pong in their thread
	Once       int // mentions with exactly one
	Duplicates int // pongs beyond the first, over all mentions
	Lost       int // acked mentions never answered: what a process took and dropped
	Unacked    int // mentions no process acked (Slack gave up, or a process read and died)
	Other      int // messages that are no pong to a mention of the stream
	// From a mention's sending to its first pong, over answered mentions.
	P50, P99, Max time.Duration
}

// String is the tally on one line.
func (t Tally) String() string {
	return fmt.Sprintf("%d mentions: %d acked, %d answered (%d exactly once), %d duplicates, %d lost after ack, %d never acked, %d other messages; mention to reply p50 %v p99 %v max %v",
		t.Mentions, t.Acked, t.Answered, t.Once, t.Duplicates, t.Lost, t.Unacked, t.Other,
		t.P50.Round(time.Millisecond), t.P99.Round(time.Millisecond), t.Max.Round(time.Millisecond))
}

// Count tallies what srv recorded of the mentions sent.
func Count(srv *slacktest.Server, sent []Sent) Tally {
	ts := map[string]string{} // event id -> message ts
	for _, e := range srv.Events() {
		ts[e.EventID] = e.TS
	}
	acked := map[string]bool{}
	for _, e := range srv.Envelopes() {
		if e.Acked && e.EventID != "" {
			acked[e.EventID] = true
		}
	}
	pongs := map[string][]time.Time{} // thread ts -> times of its pongs
	t := Tally{Mentions: len(sent)}
	for _, c := range srv.Calls("chat.postMessage") {
		if c.Status != http.StatusOK || c.Error != "" {
			continue
		}
		thread := c.Params.Get("thread_ts")
		if c.Params.Get("text") == "pong" && c.Params.Get("channel") == Channel && thread != "" {
			pongs[thread] = append(pongs[thread], c.At)
			continue
		}
		t.Other++
	}
	var lats []time.Duration
	known := map[string]bool{}
	for _, s := range sent {
		thread := ts[s.EventID]
		known[thread] = true
		if acked[s.EventID] {
			t.Acked++
		}
		got := pongs[thread]
		switch {
		case len(got) == 0 && acked[s.EventID]:
			t.Lost++
		case len(got) == 0:
			t.Unacked++
		default:
			t.Answered++
			if len(got) == 1 {
				t.Once++
			}
			t.Duplicates += len(got) - 1
			lats = append(lats, slices.MinFunc(got, time.Time.Compare).Sub(s.At))
		}
	}
	for thread, got := range pongs {
		if !known[thread] {
			t.Other += len(got)
		}
	}
	slices.Sort(lats)
	t.P50, t.P99 = Percentile(lats, 50), Percentile(lats, 99)
	if len(lats) > 0 {
		t.Max = lats[len(lats)-1]
	}
	return t
}

// drain waits until every mention of sent is answered, or nothing changed
// for quiet (the retries Slack would still send are within it).
func drain(srv *slacktest.Server, sent []Sent, quiet, limit time.Duration) {
	last, since := -1, time.Now()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if t := Count(srv, sent); t.Answered == t.Mentions {
			time.Sleep(500 * time.Millisecond) // room for a late duplicate
			return
		}
		if m := len(srv.Envelopes()) + len(srv.Calls("")); m != last {
			last, since = m, time.Now()
		}
		if time.Since(since) > quiet {
			return
		}
	}
}

// logTail is the end of each process's log, for failure messages.
func (f *Fleet) logTail() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, p := range f.procs {
		fmt.Fprintf(&b, "process %d %s\n", p.N, p.log())
	}
	return b.String()
}
