package botkit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/pkg/botkit"
	"github.com/botfleet/botfleet/pkg/botkit/botkittest"
	"github.com/botfleet/botfleet/pkg/botkit/internal/metric"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// ticks returns the job's first n ticks after from, on its zone's clock.
func ticks(j *botkit.Job, from time.Time, n int) []string {
	var out []string
	t := from
	for range n {
		t = j.Next(t)
		out = append(out, t.In(j.Location()).Format("2006-01-02 15:04 MST"))
	}
	return out
}

func TestJobNextAcrossDST(t *testing.T) {
	paris, ny := mustZone(t, "Europe/Paris"), mustZone(t, "America/New_York")
	tests := []struct {
		name string
		spec string
		zone string
		from time.Time
		want []string
	}{
		{"spring forward: 02:30 does not exist, runs at 03:30 once", "30 2 * * *", "Europe/Paris",
			time.Date(2026, 3, 28, 12, 0, 0, 0, paris),
			[]string{"2026-03-29 03:30 CEST", "2026-03-30 02:30 CEST", "2026-03-31 02:30 CEST"}},
		{"spring forward in New York", "30 2 * * *", "America/New_York",
			time.Date(2026, 3, 7, 12, 0, 0, 0, ny),
			[]string{"2026-03-08 03:30 EDT", "2026-03-09 02:30 EDT"}},
		{"fall back: 02:30 comes twice, runs once", "30 2 * * *", "Europe/Paris",
			time.Date(2026, 10, 24, 12, 0, 0, 0, paris),
			[]string{"2026-10-25 02:30 CEST", "2026-10-26 02:30 CET", "2026-10-27 02:30 CET"}},
		{"fall back from inside the repeated hour", "30 2 * * *", "Europe/Paris",
			time.Date(2026, 10, 25, 2, 45, 0, 0, paris), // 02:45 CEST, after the job's tick
			[]string{"2026-10-26 02:30 CET"}},
		{"fall back: an hourly job runs in both hours", "0 * * * *", "Europe/Paris",
			time.Date(2026, 10, 25, 1, 30, 0, 0, paris),
			[]string{"2026-10-25 02:00 CEST", "2026-10-25 02:00 CET", "2026-10-25 03:00 CET"}},
		{"weekdays at 9, Paris", "0 9 * * MON-FRI", "Europe/Paris",
			time.Date(2026, 12, 4, 10, 0, 0, 0, paris), // a Friday
			[]string{"2026-12-07 09:00 CET", "2026-12-08 09:00 CET"}},
		{"UTC by default", "@daily", "",
			time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
			[]string{"2026-12-05 00:00 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := botkit.New("t")
			var opts []botkit.CommandOption
			if tt.zone != "" {
				opts = append(opts, botkit.In(tt.zone))
			}
			j := b.Schedule("job", tt.spec, nopHandler, opts...)
			if diff := cmp.Diff(tt.want, ticks(j, tt.from, len(tt.want))); diff != "" {
				t.Errorf("ticks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJobInterval(t *testing.T) {
	b := botkit.New("t")
	for spec, want := range map[string]time.Duration{
		"*/5 * * * *":     5 * time.Minute,
		"0 9 * * MON-FRI": 72 * time.Hour, // Friday to Monday
		"@daily":          24 * time.Hour,
	} {
		j := b.Schedule("j"+fmt.Sprint(len(b.Jobs())), spec, nopHandler)
		if got := j.Interval(); got != want {
			t.Errorf("%s: interval %v, want %v", spec, got, want)
		}
	}
	// In Paris a daily job's longest gap is the fall-back day's 25 hours.
	j := b.Schedule("paris", "0 9 * * *", nopHandler, botkit.In("Europe/Paris"))
	if got := j.Interval(); got != 25*time.Hour {
		t.Errorf("daily in Paris: interval %v, want 25h", got)
	}
}

func TestSchedulePanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(b *botkit.Bot)
		want string
	}{
		{"bad name", func(b *botkit.Bot) { b.Schedule("Daily Report", "@daily", nopHandler) }, "job name"},
		{"bad spec", func(b *botkit.Bot) { b.Schedule("r", "0 25 * * *", nopHandler) }, "cron expression"},
		{"six fields", func(b *botkit.Bot) { b.Schedule("r", "0 0 9 * * *", nopHandler) }, "cron expression"},
		{"twice", func(b *botkit.Bot) {
			b.Schedule("r", "@daily", nopHandler)
			b.Schedule("r", "@hourly", nopHandler)
		}, "registered twice"},
		{"unknown zone", func(b *botkit.Bot) { b.Schedule("r", "@daily", nopHandler, botkit.In("Europe/Atlantis")) }, "IANA time zone"},
		{"In on a command", func(b *botkit.Bot) { b.Command("ping", nopHandler, botkit.In("Europe/Paris")) }, "option of Schedule only"},
		{"CatchUp zero", func(b *botkit.Bot) { b.Schedule("r", "@daily", nopHandler, botkit.CatchUp(0)) }, "positive"},
		{"never fires", func(b *botkit.Bot) { b.Schedule("r", "0 0 30 2 *", nopHandler) }, "never fires"},
		{"@every", func(b *botkit.Bot) { b.Schedule("r", "@every 1h", nopHandler) }, "@every is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v := recover()
				if v == nil || !strings.Contains(fmt.Sprint(v), tt.want) {
					t.Errorf("panic %v, want one containing %q", v, tt.want)
				}
			}()
			tt.f(botkit.New("t"))
		})
	}
}

func TestScheduleSettings(t *testing.T) {
	b := botkit.New("t")
	b.Schedule("report", "@daily", nopHandler)
	err := b.CheckSettings(botkit.Settings{Schedule: botkit.ScheduleConfig{Channel: "general", ErrorsChannel: "U123"}})
	for _, want := range []string{`key schedule.channel: "general" is not a Slack channel ID`, `key schedule.errors_channel: "U123" is not a Slack channel ID`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckSettings: %v, want %q", err, want)
		}
	}
	if err := b.CheckSettings(botkit.Settings{Schedule: botkit.ScheduleConfig{Channel: "C0REPORT", ErrorsChannel: "C0ERRORS"}}); err != nil {
		t.Errorf("CheckSettings of good settings: %v", err)
	}
}

// fleet runs bots, each with its own runtime, on one transport or several,
// inside a synctest bubble whose clock starts at start.
type fleet struct {
	t      *testing.T
	start  time.Time
	origin time.Time // the bubble's time at start
	cancel []context.CancelFunc
	done   []chan error
}

func newFleet(t *testing.T, start time.Time) *fleet {
	return &fleet{t: t, start: start, origin: time.Now()}
}

// now is the fake wall clock: start plus the bubble's elapsed time.
func (f *fleet) now() time.Time { return f.start.Add(time.Since(f.origin)) }

// run starts b with settings s on a new Memory transport and metrics set.
func (f *fleet) run(b *botkit.Bot, s botkit.Settings, opts ...botkit.Option) (*botkittest.Memory, *vm.Set) {
	f.t.Helper()
	reg := vm.NewSet()
	rt := botkit.NewRuntime(b, append([]botkit.Option{botkit.WithClock(f.now), botkit.WithRegistry(reg), botkit.WithGracePeriod(time.Minute)}, opts...)...)
	if err := rt.Apply(s); err != nil {
		f.t.Fatal(err)
	}
	tr := botkittest.NewMemory()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx, tr) }()
	f.cancel = append(f.cancel, cancel)
	f.done = append(f.done, done)
	return tr, reg
}

// stop stops every bot and waits for them.
func (f *fleet) stop() {
	f.t.Helper()
	for i, cancel := range f.cancel {
		cancel()
		if err := <-f.done[i]; err != nil {
			f.t.Errorf("Run: %v", err)
		}
	}
	f.cancel, f.done = nil, nil
}

func value(t *testing.T, reg *vm.Set, series string) float64 {
	t.Helper()
	v, _ := metric.Value(reg, series)
	return v
}

// runLog records the ticks a job ran for.
type runLog struct {
	mu    sync.Mutex
	ticks []string
}

func (l *runLog) handler(zone *time.Location, then botkit.HandlerFunc) botkit.HandlerFunc {
	return func(ctx context.Context, req *botkit.Request) error {
		l.mu.Lock()
		l.ticks = append(l.ticks, req.Tick().In(zone).Format("01-02 15:04 MST"))
		l.mu.Unlock()
		if then != nil {
			return then(ctx, req)
		}
		return nil
	}
}

func (l *runLog) got() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.ticks)
}

// The config's schedule.jobs.<name>.cron is checked against the bot's jobs
// and the cron grammar, each problem naming its key.
func TestScheduleJobSettings(t *testing.T) {
	b := botkit.New("t")
	b.Schedule("report", "@daily", nopHandler)
	b.Schedule("cleanup", "0 3 * * *", nopHandler)
	tests := []struct {
		name string
		jobs map[string]botkit.JobSettings
		want string // "" for none
	}{
		{"override", map[string]botkit.JobSettings{"report": {Cron: "*/5 * * * *"}, "cleanup": {Cron: "@hourly"}}, ""},
		{"unknown job", map[string]botkit.JobSettings{"reprot": {Cron: "@hourly"}},
			`key schedule.jobs.reprot: the bot has no scheduled job "reprot"; its jobs are report, cleanup`},
		{"empty cron", map[string]botkit.JobSettings{"report": {}},
			`key schedule.jobs.report.cron: empty: give a five-field cron expression (minute hour day-of-month month day-of-week), or remove the key to keep the job's own "@daily"`},
		{"bad cron", map[string]botkit.JobSettings{"report": {Cron: "0 25 * * *"}}, `key schedule.jobs.report.cron: cron expression "0 25 * * *": `},
		{"six fields", map[string]botkit.JobSettings{"report": {Cron: "*/5 * * * * *"}}, `key schedule.jobs.report.cron: cron expression "*/5 * * * * *": `},
		{"never fires", map[string]botkit.JobSettings{"report": {Cron: "0 0 31 2 *"}}, `key schedule.jobs.report.cron: cron expression "0 0 31 2 *" never fires`},
		{"@every", map[string]botkit.JobSettings{"cleanup": {Cron: "@every 10s"}}, `key schedule.jobs.cleanup.cron: cron expression "@every 10s": @every is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := b.CheckSettings(botkit.Settings{Schedule: botkit.ScheduleConfig{Jobs: tt.jobs}})
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckSettings: %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
				t.Errorf("CheckSettings: %v, want an error starting %q", err, tt.want)
			}
		})
	}
	none := botkit.New("t")
	err := none.CheckSettings(botkit.Settings{Schedule: botkit.ScheduleConfig{Jobs: map[string]botkit.JobSettings{"report": {Cron: "@daily"}}}})
	if want := `key schedule.jobs.report: the bot has no scheduled job "report"; it has none`; err == nil || err.Error() != want {
		t.Errorf("CheckSettings on a bot without jobs: %v, want %q", err, want)
	}
}

// A job runs at the ticks of the config's cron expression, and a reload
// that changes or removes it takes effect before the next tick; help and
// the interval metric show the expression in force.
func TestSchedulerCronFromConfig(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		var l runLog
		start := time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC)
		origin := time.Now()
		reg := vm.NewSet()
		tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithRegistry(reg), botkit.WithStateDir(dir),
			botkit.WithClock(func() time.Time { return start.Add(time.Since(origin)) })))
		tr.Bot().Schedule("report", "@daily", l.handler(time.UTC, nil))
		apply := func(spec string) {
			t.Helper()
			var s botkit.Settings
			if spec != "" {
				s.Schedule.Jobs = map[string]botkit.JobSettings{"report": {Cron: spec}}
			}
			if err := tr.Apply(s); err != nil {
				t.Fatal(err)
			}
		}
		apply("*/10 * * * *")
		tr.Start()
		time.Sleep(35 * time.Minute) // 09:35:30
		if got := value(t, reg, `botkit_schedule_interval_seconds{bot="test",schedule="report"}`); got != 600 {
			t.Errorf("interval with */10: %v s, want 600", got)
		}
		if got := botkittest.Last(tr.Say(t, "help")); !strings.Contains(got, "`report` (`*/10 * * * *` UTC, next Sat 5 Dec 09:40 UTC)") {
			t.Errorf("help = %q, want the config's expression and its next tick", got)
		}
		apply("0 * * * *")           // hourly from now on: no 09:40 tick
		time.Sleep(30 * time.Minute) // 10:05:30
		apply("")                    // back to @daily
		time.Sleep(14 * time.Hour)   // 00:05:30 the next day
		if got := value(t, reg, `botkit_schedule_interval_seconds{bot="test",schedule="report"}`); got != 86400 {
			t.Errorf("interval back on @daily: %v s, want 86400", got)
		}
		tr.Stop()
		want := []string{"12-05 09:10 UTC", "12-05 09:20 UTC", "12-05 09:30 UTC", "12-05 10:00 UTC", "12-06 00:00 UTC"}
		if diff := cmp.Diff(want, l.got()); diff != "" {
			t.Errorf("ticks run (-want +got):\n%s", diff)
		}
	})
}

func TestSchedulerRunsAcrossDST(t *testing.T) {
	paris := mustZone(t, "Europe/Paris")
	tests := []struct {
		name  string
		start time.Time
		want  []string
	}{
		{"spring forward", time.Date(2026, 3, 28, 12, 0, 0, 0, paris), []string{"03-29 03:30 CEST", "03-30 02:30 CEST", "03-31 02:30 CEST"}},
		{"fall back", time.Date(2026, 10, 24, 12, 0, 0, 0, paris), []string{"10-25 02:30 CEST", "10-26 02:30 CET", "10-27 02:30 CET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var l runLog
				b := botkit.New("t")
				b.Schedule("nightly", "30 2 * * *", l.handler(paris, func(ctx context.Context, req *botkit.Request) error {
					_, err := req.Replyf(ctx, "nightly run for %s", req.Tick().In(paris).Format("01-02 15:04"))
					return err
				}), botkit.In("Europe/Paris"))
				f := newFleet(t, tt.start)
				tr, reg := f.run(b, botkit.Settings{Schedule: botkit.ScheduleConfig{Channel: "C0NIGHT"}})
				time.Sleep(3*24*time.Hour + time.Hour)
				f.stop()
				if diff := cmp.Diff(tt.want, l.got()); diff != "" {
					t.Errorf("runs (-want +got):\n%s", diff)
				}
				replies := tr.Replies()
				if len(replies) != 3 || replies[0].Channel != "C0NIGHT" || !strings.HasPrefix(replies[0].Text, "nightly run for ") {
					t.Errorf("posts: %+v, want 3 in C0NIGHT", replies)
				}
				if got := value(t, reg, `botkit_schedule_runs_total{bot="t",schedule="nightly",outcome="ok"}`); got != 3 {
					t.Errorf("runs_total ok = %v, want 3", got)
				}
			})
		})
	}
}

func TestSchedulerOverlap(t *testing.T) {
	tests := []struct {
		name        string
		opts        []botkit.CommandOption
		wantRuns    int
		wantSkipped float64
		wantMax     int32
	}{
		// A run every minute that takes 150 s: the next two ticks find it
		// still going.
		{"skipped by default", nil, 4, 6, 1},
		{"overlap allowed", []botkit.CommandOption{botkit.Overlap()}, 10, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var runs, inFlight, most atomic.Int32
				b := botkit.New("t")
				b.Schedule("slow", "* * * * *", func(ctx context.Context, req *botkit.Request) error {
					runs.Add(1)
					n := inFlight.Add(1)
					defer inFlight.Add(-1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					time.Sleep(150 * time.Second)
					return nil
				}, append(tt.opts, botkit.Timeout(time.Hour))...)
				f := newFleet(t, time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC))
				_, reg := f.run(b, botkit.Settings{})
				time.Sleep(10 * time.Minute) // ticks 09:01 ... 09:10
				f.stop()
				if got := int(runs.Load()); got != tt.wantRuns {
					t.Errorf("runs = %d, want %d", got, tt.wantRuns)
				}
				if got := value(t, reg, `botkit_schedule_runs_total{bot="t",schedule="slow",outcome="skipped"}`); got != tt.wantSkipped {
					t.Errorf("skipped = %v, want %v", got, tt.wantSkipped)
				}
				if got := most.Load(); got != tt.wantMax {
					t.Errorf("most runs at once = %d, want %d", got, tt.wantMax)
				}
			})
		})
	}
}

func TestSchedulerOneRunPerTickAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		var l runLog
		f := newFleet(t, time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC))
		var regs []*vm.Set
		for range 3 { // three processes of one bot on one state directory
			b := botkit.New("t")
			b.Schedule("every-minute", "* * * * *", l.handler(time.UTC, nil))
			_, reg := f.run(b, botkit.Settings{}, botkit.WithStateDir(dir))
			regs = append(regs, reg)
		}
		time.Sleep(30 * time.Minute)
		f.stop()
		got := l.got()
		var want []string
		for m := 1; m <= 30; m++ {
			want = append(want, fmt.Sprintf("12-05 09:%02d UTC", m))
		}
		slices.Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("ticks run (-want +got):\n%s", diff)
		}
		var total float64
		for _, reg := range regs {
			total += value(t, reg, `botkit_schedule_runs_total{bot="t",schedule="every-minute",outcome="ok"}`)
		}
		if total != 30 {
			t.Errorf("runs counted by the three processes: %v, want 30", total)
		}
	})
	// Claims older than two days are pruned, the newest kept.
	claims, err := os.ReadDir(filepath.Join(dir, "schedule", "every-minute", "claims"))
	if err != nil || len(claims) != 30 {
		t.Fatalf("claims: %d, %v; want 30 files", len(claims), err)
	}
}

func TestSchedulerPrunesOldClaims(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		b := botkit.New("t")
		b.Schedule("hourly", "0 * * * *", nopHandler)
		f := newFleet(t, time.Date(2026, 12, 1, 0, 30, 0, 0, time.UTC))
		f.run(b, botkit.Settings{}, botkit.WithStateDir(dir))
		time.Sleep(72 * time.Hour)
		f.stop()
	})
	claims, err := os.ReadDir(filepath.Join(dir, "schedule", "hourly", "claims"))
	if err != nil {
		t.Fatal(err)
	}
	// 72 ticks ran; those more than 48 h before the latest are gone.
	if len(claims) != 49 {
		t.Errorf("claims kept: %d, want 49 (the last 48 hours and the latest)", len(claims))
	}
}

func TestSchedulerAfterRestart(t *testing.T) {
	tests := []struct {
		name       string
		catchUp    time.Duration
		down       time.Duration // from 09:00:30, after the 09:00 tick ran
		wantRuns   []string      // after the restart, within the first minute
		wantMissed float64
	}{
		{"within the window: the latest missed tick runs once", 2 * time.Hour, 5*time.Hour + 20*time.Minute,
			[]string{"12-05 14:00 UTC"}, 4},
		{"past the window: recorded as missed", 10 * time.Minute, 5*time.Hour + 20*time.Minute,
			nil, 5},
		{"no catch-up: recorded as missed", 0, 2*time.Hour + 20*time.Minute,
			nil, 2},
		{"nothing missed", 2 * time.Hour, 30 * time.Minute,
			nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				start := time.Date(2026, 12, 5, 8, 59, 30, 0, time.UTC)
				newBot := func(l *runLog) *botkit.Bot {
					b := botkit.New("t")
					var opts []botkit.CommandOption
					if tt.catchUp > 0 {
						opts = append(opts, botkit.CatchUp(tt.catchUp))
					}
					b.Schedule("hourly", "0 * * * *", l.handler(time.UTC, nil), opts...)
					return b
				}
				settings, state := botkit.Settings{}, botkit.WithStateDir(dir)

				var before runLog
				f := newFleet(t, start)
				f.run(newBot(&before), settings, state)
				time.Sleep(time.Minute) // the 09:00 tick runs
				f.stop()
				if diff := cmp.Diff([]string{"12-05 09:00 UTC"}, before.got()); diff != "" {
					t.Fatalf("before the restart (-want +got):\n%s", diff)
				}

				var after runLog
				f = newFleet(t, start.Add(time.Minute+tt.down))
				_, reg := f.run(newBot(&after), settings, state)
				time.Sleep(time.Second)
				f.stop()
				if diff := cmp.Diff(tt.wantRuns, after.got()); diff != "" {
					t.Errorf("after the restart (-want +got):\n%s", diff)
				}
				if got := value(t, reg, `botkit_schedule_runs_total{bot="t",schedule="hourly",outcome="missed"}`); got != tt.wantMissed {
					t.Errorf("missed = %v, want %v", got, tt.wantMissed)
				}

				// A second restart finds nothing more to do: the missed
				// ticks were dealt with once.
				var again runLog
				f = newFleet(t, start.Add(time.Minute+tt.down+time.Second))
				_, reg = f.run(newBot(&again), settings)
				time.Sleep(time.Second)
				f.stop()
				if len(again.got()) != 0 || value(t, reg, `botkit_schedule_runs_total{bot="t",schedule="hourly",outcome="missed"}`) != 0 {
					t.Errorf("second restart ran %v and counted missed ticks again", again.got())
				}
			})
		})
	}
}

func TestSchedulerFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := botkit.New("t")
		fail := true
		b.Schedule("report", "*/10 * * * *", func(ctx context.Context, req *botkit.Request) error {
			ref, err := req.Reply(ctx, "building the report…")
			if err != nil {
				return err
			}
			if fail {
				fail = false
				return errors.New("the warehouse answered 503")
			}
			return req.Update(ctx, ref, "report ready")
		}, botkit.Describe("Post the report"))
		b.Schedule("stuck", "*/10 * * * *", func(ctx context.Context, req *botkit.Request) error {
			<-ctx.Done()
			return ctx.Err()
		}, botkit.Timeout(time.Minute))
		start := time.Date(2026, 12, 5, 9, 5, 0, 0, time.UTC)
		f := newFleet(t, start)
		tr, reg := f.run(b, botkit.Settings{
			Schedule: botkit.ScheduleConfig{Channel: "C0REPORT", ErrorsChannel: "C0ERRORS"},
			Audit:    botkit.AuditConfig{Channel: "C0AUDIT"},
		})
		time.Sleep(16 * time.Minute) // ticks 09:10 (fails) and 09:20 (succeeds)
		f.stop()

		var errs, audit, report []string
		for _, r := range tr.Replies() {
			switch r.Channel {
			case "C0ERRORS":
				errs = append(errs, r.Text)
			case "C0AUDIT":
				audit = append(audit, r.Text)
			case "C0REPORT":
				report = append(report, fmt.Sprintf("%s update=%v", r.Text, r.Update))
			}
		}
		slices.Sort(errs)
		wantErrs := []string{
			"Scheduled job `report` failed for its 2026-12-05 09:10 UTC tick: the warehouse answered 503 (ref `",
			"Scheduled job `stuck` failed for its 2026-12-05 09:10 UTC tick: `stuck` timed out after 1m0s (ref `",
			"Scheduled job `stuck` failed for its 2026-12-05 09:20 UTC tick: `stuck` timed out after 1m0s (ref `",
		}
		if len(errs) != len(wantErrs) {
			t.Fatalf("errors channel: %q, want %d lines", errs, len(wantErrs))
		}
		for i, w := range wantErrs {
			if !strings.HasPrefix(errs[i], w) {
				t.Errorf("errors channel line %d: %q, want it to start with %q", i, errs[i], w)
			}
		}
		if len(audit) != 4 {
			t.Errorf("audit channel: %q, want one line per run (4)", audit)
		}
		wantReport := []string{"building the report… update=false", "building the report… update=false", "report ready update=true"}
		if diff := cmp.Diff(wantReport, report); diff != "" {
			t.Errorf("report channel (-want +got):\n%s", diff)
		}
		for series, want := range map[string]float64{
			`botkit_schedule_runs_total{bot="t",schedule="report",outcome="ok"}`:        1,
			`botkit_schedule_runs_total{bot="t",schedule="report",outcome="error"}`:     1,
			`botkit_schedule_runs_total{bot="t",schedule="stuck",outcome="timeout"}`:    2,
			`botkit_schedule_last_success_timestamp_seconds{bot="t",schedule="report"}`: float64(time.Date(2026, 12, 5, 9, 20, 0, 0, time.UTC).Unix()),
			`botkit_schedule_last_success_timestamp_seconds{bot="t",schedule="stuck"}`:  float64(start.Unix()), // first scheduled
			`botkit_schedule_interval_seconds{bot="t",schedule="report"}`:               600,
			`botkit_schedule_next_run_timestamp_seconds{bot="t",schedule="report"}`:     float64(time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC).Unix()),
		} {
			if got := value(t, reg, series); got != want {
				t.Errorf("%s = %v, want %v", series, got, want)
			}
		}
	})
}

func TestSchedulerStateDirFailure(t *testing.T) {
	// The state directory is fine, but schedule/ in it is a file: no tick
	// can be claimed.
	file := t.TempDir()
	if err := os.WriteFile(filepath.Join(file, "schedule"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		b := botkit.New("t")
		b.Schedule("report", "* * * * *", func(context.Context, *botkit.Request) error { runs.Add(1); return nil })
		f := newFleet(t, time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC))
		tr, reg := f.run(b, botkit.Settings{Schedule: botkit.ScheduleConfig{ErrorsChannel: "C0ERRORS"}}, botkit.WithStateDir(file))
		time.Sleep(time.Minute)
		f.stop()
		if runs.Load() != 0 {
			t.Errorf("ran %d times with no way to claim the tick; want 0", runs.Load())
		}
		if got := value(t, reg, `botkit_errors_total{bot="t",kind="schedule_state"}`); got != 1 {
			t.Errorf("schedule_state errors = %v, want 1", got)
		}
		if r := tr.Replies(); len(r) != 1 || r[0].Channel != "C0ERRORS" || !strings.Contains(r[0].Text, "did not run") {
			t.Errorf("errors channel: %+v", r)
		}
	})
}

func TestScheduleHelp(t *testing.T) {
	// A Friday afternoon in Paris: the weekday job's next run is Monday.
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	tr := botkittest.New(t, botkittest.WithRunOptions(botkit.WithClock(func() time.Time { return now })))
	b := tr.Bot()
	b.Command("ping", nopHandler, botkit.Describe("Answer pong"))
	b.Schedule("standup", "0 9 * * MON-FRI", nopHandler, botkit.In("Europe/Paris"), botkit.Describe("Post the stand-up thread"))
	b.Schedule("cleanup", "*/15 * * * *", nopHandler)

	wantStatic := "\n*Scheduled jobs*:" +
		"\n• `standup` — Post the stand-up thread (`0 9 * * MON-FRI` Europe/Paris)" +
		"\n• `cleanup` (`*/15 * * * *` UTC)"
	if got := b.Help(); !strings.HasSuffix(got, wantStatic) {
		t.Errorf("Help() = %q, want it to end with %q", got, wantStatic)
	}
	wantLive := "\n*Scheduled jobs*:" +
		"\n• `standup` — Post the stand-up thread (`0 9 * * MON-FRI` Europe/Paris, next Mon 7 Dec 09:00 CET)" +
		"\n• `cleanup` (`*/15 * * * *` UTC, next Fri 4 Dec 15:15 UTC)"
	for _, cmd := range []string{"help", "help all"} {
		if got := botkittest.Last(tr.Say(t, cmd)); !strings.HasSuffix(got, wantLive) {
			t.Errorf("%s = %q, want it to end with %q", cmd, got, wantLive)
		}
	}
	home := botkittest.BlockTexts(tr.OpenHome(t, "U0ANY").Blocks.BlockSet)
	if len(home) < 2 || !strings.HasSuffix(home[1], wantLive) {
		t.Errorf("home = %q, want the jobs with their next runs", home)
	}
}

func TestScheduledReplyWithoutChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := botkit.New("t")
		var replyErr, msgErr error
		b.Schedule("report", "* * * * *", func(ctx context.Context, req *botkit.Request) error {
			_, replyErr = req.Reply(ctx, "report")
			_, msgErr = req.ReplyMessage(ctx, botkit.Message{Text: "report"})
			_, err := req.ReplyMessage(ctx, botkit.Message{Channel: "C0ELSEWHERE", Text: "report"})
			return err
		})
		f := newFleet(t, time.Date(2026, 12, 5, 9, 0, 30, 0, time.UTC))
		tr, _ := f.run(b, botkit.Settings{})
		time.Sleep(time.Minute)
		f.stop()
		for _, err := range []error{replyErr, msgErr} {
			if err == nil || !strings.Contains(err.Error(), "set schedule.channel") {
				t.Errorf("reply with no channel: %v, want an error naming schedule.channel", err)
			}
		}
		if r := tr.Replies(); len(r) != 1 || r[0].Channel != "C0ELSEWHERE" {
			t.Errorf("posts: %+v, want the one naming its channel", r)
		}
	})
}
