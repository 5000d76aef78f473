package fleetbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/botkit/slacktest"
	"github.com/botfleet/botfleet/pkg/golden"
)

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"median of odd", ms(1, 2, 3), 50, 2 * time.Millisecond},
		{"median of even is the lower", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p100 is the max", ms(hundred...), 100, 100 * time.Millisecond},
		{"p0 is the min", ms(1, 2, 3), 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	r := func(acks float64, p99 time.Duration, peak int64) Result {
		return Result{Mentions: 10, AcksPerSec: acks, AckP99: p99, PeakRSS: peak}
	}
	tests := []struct {
		name string
		in   []Result
		want Result
	}{
		{"one", []Result{r(5, 3, 9)}, r(5, 3, 9)},
		{"odd, figure by figure", []Result{r(1, 30, 7), r(3, 10, 9), r(2, 20, 8)}, r(2, 20, 8)},
		{"even takes the mean of the middle two", []Result{r(1, 10, 2), r(4, 40, 8), r(2, 20, 4), r(3, 30, 6)}, r(2.5, 25, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Median(tt.in)); diff != "" {
				t.Errorf("Median (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    memStatus
		wantErr string
	}{
		{"kernel format", "Name:\thello\nVmPeak:\t 1261396 kB\nVmHWM:\t   21504 kB\nVmRSS:\t   18000 kB\nThreads:\t8\n",
			memStatus{hwm: 21504 << 10, rss: 18000 << 10}, ""},
		{"missing VmHWM", "Name:\thello\nVmRSS:\t 18000 kB\n", memStatus{}, "lacks VmHWM or VmRSS"},
		{"not kB", "VmHWM:\t 21 MB\nVmRSS:\t 18000 kB\n", memStatus{}, `parsing VmHWM`},
		{"not a number", "VmHWM:\t lots kB\nVmRSS:\t 18000 kB\n", memStatus{}, `parsing VmHWM`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus([]byte(tt.status))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseStatus err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("parseStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "4242 (hello) S 1 4242 4242 0 -1 4194560 1416 0 0 0 37 12 0 0 20 0 8 0 123 0 0", 490 * time.Millisecond, false},
		{"spaces and parens in the name", "7 (my (odd) bot) R 1 7 7 0 -1 0 0 0 0 0 5 5 0 0 20 0 1 0 1 0 0", 100 * time.Millisecond, false},
		{"truncated", "7 (bot) R 1 7", 0, true},
		{"no name", "7 bot R", 0, true},
		{"bad number", "7 (bot) R 1 7 7 0 -1 0 0 0 0 0 x 5 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStat = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRowVerdict(t *testing.T) {
	tests := []struct {
		name    string
		row     Row
		verdict string
		failed  bool
	}{
		{"throughput above", Row{Botkit: 110, Minimal: 100, target: atLeast, limit: 1}, "met", false},
		{"throughput equal", Row{Botkit: 100, Minimal: 100, target: atLeast, limit: 1}, "met", false},
		{"throughput within noise", Row{Botkit: 80, Minimal: 100, target: atLeast, limit: 1}, "missed, within noise", false},
		{"throughput beyond noise", Row{Botkit: 70, Minimal: 100, target: atLeast, limit: 1}, "FAIL", true},
		{"latency below", Row{Botkit: 9, Minimal: 10, target: atMost, limit: 1}, "met", false},
		{"latency within noise", Row{Botkit: 12, Minimal: 10, target: atMost, limit: 1}, "missed, within noise", false},
		{"latency beyond noise", Row{Botkit: 13, Minimal: 10, target: atMost, limit: 1}, "FAIL", true},
		{"memory at the limit", Row{Botkit: 12, Minimal: 10, target: atMostHard, limit: 1.2}, "met", false},
		{"memory just over", Row{Botkit: 12.1, Minimal: 10, target: atMostHard, limit: 1.2}, "FAIL", true},
		{"no target", Row{Botkit: 1000, Minimal: 1}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.row.Verdict(); got != tt.verdict {
				t.Errorf("Verdict = %q, want %q", got, tt.verdict)
			}
			if got := tt.row.Failed(); got != tt.failed {
				t.Errorf("Failed = %v, want %v", got, tt.failed)
			}
		})
	}
}

// TestTable checks the comparison table against testdata/table.golden
// (rewrite it with -update).
func TestTable(t *testing.T) {
	bk := Result{AcksPerSec: 2400, AckP50: 180 * time.Millisecond, AckP99: 420 * time.Millisecond, RepliesPerSec: 2300,
		PeakRSS: 20 << 20, IdleRSS: 15 << 20}
	mn := Result{AcksPerSec: 3000, AckP50: 150 * time.Millisecond, AckP99: 400 * time.Millisecond, RepliesPerSec: 2900,
		PeakRSS: 13 << 20, IdleRSS: 14 << 20}
	got := Table(Compare(bk, mn))
	golden.Check(t, filepath.Join("testdata", "table.golden"), got)
}

func TestCheckReplies(t *testing.T) {
	events := []slacktest.Event{{TS: "1.1"}, {TS: "1.2"}, {TS: "1.3"}}
	pong := func(ts string) slacktest.Message {
		return slacktest.Message{Method: "chat.postMessage", Channel: Channel, ThreadTS: ts, Text: "pong"}
	}
	tests := []struct {
		name    string
		msgs    []slacktest.Message
		wantErr []string
	}{
		{"one pong each", []slacktest.Message{pong("1.3"), pong("1.1"), pong("1.2")}, nil},
		{"missing", []slacktest.Message{pong("1.1")}, []string{"1 of 3 mentions got exactly one pong; 2 got none, 0 got more than one, and 0 other"}},
		{"duplicate", []slacktest.Message{pong("1.1"), pong("1.2"), pong("1.3"), pong("1.2")},
			[]string{"2 of 3 mentions got exactly one pong; 0 got none, 1 got more than one", "a second pong to mention 1.2"}},
		{"busy note instead of pong", []slacktest.Message{pong("1.1"), pong("1.2"),
			{Method: "chat.postMessage", Channel: Channel, ThreadTS: "1.3", Text: "I'm busy"}},
			[]string{"2 of 3 mentions got exactly one pong; 1 got none, 0 got more than one, and 1 other messages", `chat.postMessage in C0BENCH thread "1.3": "I'm busy"`}},
		{"outside any thread", []slacktest.Message{pong("1.1"), pong("1.2"), pong("1.3"), pong("")}, []string{"1 other messages", `thread ""`}},
		{"an update", []slacktest.Message{pong("1.1"), pong("1.2"), pong("1.3"),
			{Method: "chat.update", Channel: Channel, ThreadTS: "1.1", Text: "pong"}}, []string{"chat.update in"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReplies(events, tt.msgs)
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("checkReplies: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("checkReplies = nil, want an error with %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("checkReplies error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	envs := []slacktest.Envelope{{ID: "a", SentAt: t0}, {ID: "b", SentAt: t0.Add(100 * time.Millisecond)}}
	acks := []slacktest.Ack{
		{EnvelopeID: "b", Latency: 400 * time.Millisecond}, // the last ack: t0+500ms
		{EnvelopeID: "a", Latency: 200 * time.Millisecond},
		{EnvelopeID: "a", Latency: 900 * time.Millisecond}, // a second ack is not timed
	}
	posts := []slacktest.Call{{At: t0.Add(time.Second)}, {At: t0.Add(300 * time.Millisecond)}}
	var got Result
	if err := measure(&got, envs, acks, posts); err != nil {
		t.Fatal(err)
	}
	want := Result{AcksPerSec: 4, AckP50: 200 * time.Millisecond, AckP99: 400 * time.Millisecond, RepliesPerSec: 2,
		WriteSpan: 100 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("measure (-want +got):\n%s", diff)
	}

	bad := []struct {
		name    string
		envs    []slacktest.Envelope
		acks    []slacktest.Ack
		wantErr string
	}{
		{"never written", []slacktest.Envelope{{ID: "a"}}, nil, "never written"},
		{"not acked", envs, acks[:1], "1 of 2 envelopes acked"},
		{"unknown ack", envs, append(acks, slacktest.Ack{EnvelopeID: "z"}), `unknown envelope "z"`},
		{"nothing sent", nil, nil, "no envelopes"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			var r Result
			if err := measure(&r, tt.envs, tt.acks, nil); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("measure err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "bench", "fleetbench")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "go.work"), []byte("go 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{root, deep} {
		if got, err := RepoRoot(dir); err != nil || got != root {
			t.Errorf("RepoRoot(%s) = %q, %v; want %q", dir, got, err, root)
		}
	}
	// No go.work above a fresh temp dir (unless the machine's root has one).
	if _, err := os.Stat("/go.work"); err == nil {
		t.Skip("/go.work exists")
	}
	if _, err := RepoRoot(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no go.work") {
		t.Errorf("RepoRoot outside a repo: err = %v, want no go.work", err)
	}
}

func TestCleanEnv(t *testing.T) {
	in := []string{"HOME=/root", "SLACK_BOT_TOKEN=xoxb-real", "BOT_ENV=prd", "PATH=/bin", "GOBOT=1"}
	want := []string{"HOME=/root", "PATH=/bin", "GOBOT=1"}
	if diff := cmp.Diff(want, cleanEnv(in)); diff != "" {
		t.Errorf("cleanEnv (-want +got):\n%s", diff)
	}
	if in[1] != "SLACK_BOT_TOKEN=xoxb-real" {
		t.Error("cleanEnv changed its input")
	}
}

func TestBuildUnknown(t *testing.T) {
	if _, err := Build(t.Context(), ".", t.TempDir(), "nosuchbot"); err == nil || !strings.Contains(err.Error(), `no binary "nosuchbot"`) {
		t.Errorf("Build(nosuchbot) err = %v", err)
	}
}
