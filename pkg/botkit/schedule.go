package botkit

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // a distroless image has no zoneinfo: jobs name zones

	cron "github.com/netresearch/go-cron"
)

// Job is a scheduled job registered with Bot.Schedule: a handler run by the
// clock, at the ticks of a cron expression in a time zone.
type Job struct {
	name    string
	cmd     *Command // its handler, description and timeout
	loc     *time.Location
	timing  *timing // as registered; the config's schedule.jobs.<name>.cron overrides it
	catchUp time.Duration
	overlap bool
}

// timing is when a job's ticks come: a parsed cron expression.
type timing struct {
	spec     string
	sched    cron.Schedule
	interval time.Duration // the longest gap between two ticks
}

// Name returns the job's name.
func (j *Job) Name() string { return j.name }

// Spec returns the job's cron expression, as registered (a config's
// schedule.jobs.<name>.cron replaces it while the bot runs).
func (j *Job) Spec() string { return j.timing.spec }

// Location returns the time zone the cron expression is read in.
func (j *Job) Location() *time.Location { return j.loc }

// Description returns the job's description (Describe).
func (j *Job) Description() string { return j.cmd.desc }

// Interval returns the longest time between two ticks of the job over the
// coming year: the gap after which a job that has not succeeded is late.
func (j *Job) Interval() time.Duration { return j.timing.interval }

// Next returns the job's first tick after t, on its registered cron
// expression.
//
// The cron expression is read on the wall clock of the job's zone. When the
// clocks go forward, a time that does not exist that day (02:30 in most of
// Europe on the last Sunday of March) runs when it would have been without
// the change, an hour later on the new clock (03:30), as ISC cron does;
// when the clocks go back, a time that comes twice runs the first time
// only, unless the job runs every hour.
func (j *Job) Next(t time.Time) time.Time { return j.next(j.timing, t) }

// next returns the first tick of tm after t, read in j's zone.
func (j *Job) next(tm *timing, t time.Time) time.Time {
	next := tm.sched.Next(t.In(j.loc))
	if tm.everyHour() {
		return next
	}
	// The second of two ticks with one wall-clock time: the first, an hour
	// earlier on the old offset, was the job's.
	for !next.IsZero() && sameWallClock(next, next.Add(-time.Hour)) {
		next = tm.sched.Next(next)
	}
	return next
}

// everyHour reports whether the hours field is *: such a job runs in both
// of the hours a fall-back change repeats, like cron.
func (tm *timing) everyHour() bool {
	s, ok := tm.sched.(*cron.SpecSchedule)
	const all = 1<<24 - 1
	return !ok || s.Hour&all == all
}

// sameWallClock reports whether a and b read the same on their zone's clock.
func sameWallClock(a, b time.Time) bool {
	return a.Format("2006-01-02T15:04:05") == b.Format("2006-01-02T15:04:05")
}

// jobParser reads standard five-field cron expressions (minute hour
// day-of-month month day-of-week, with names like MON-FRI and JAN) and the
// descriptors @hourly, @daily, @weekly, @monthly, @yearly. The zone is
// the job's (In), never a CRON_TZ= prefix, so that help shows it.
var jobParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// jobName is what a job's name may be: it names files in the state
// directory and metric labels.
var jobName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)

// Schedule registers h to run at the ticks of spec, a five-field cron
// expression ("0 9 * * MON-FRI") or a descriptor ("@daily"), read in UTC
// unless In names a zone. Options: In, CatchUp, Overlap, Timeout, Describe.
//
// Each run gets a Request of KindSchedule whose Reply posts in the
// channel the config's schedule.channel names, a context cancelled after
// the job's timeout (the bot's command timeout unless Timeout sets one) or
// when the grace period of a shutdown ends, an audit line and metrics. A
// run still going when the next tick comes makes that tick skipped, unless
// the job allows Overlap. Jobs run while Runtime.Run does.
//
// Schedule panics when name is not a lowercase name of letters, digits and
// dashes (it names files and metrics), is taken, or spec does not parse, so
// that a mistake fails at start and in tests.
func (b *Bot) Schedule(name, spec string, h HandlerFunc, opts ...CommandOption) *Job {
	b.mustNotBeFrozen("Schedule")
	if h == nil {
		panic(fmt.Sprintf("botkit: nil handler for job %q", name))
	}
	if !jobName.MatchString(name) {
		panic(fmt.Sprintf("botkit: job name %q: want a lowercase letter, then up to 62 lowercase letters, digits and dashes", name))
	}
	for _, j := range b.jobs {
		if j.name == name {
			panic(fmt.Sprintf("botkit: job %q registered twice", name))
		}
	}
	j := &Job{name: name, loc: time.UTC}
	c := &Command{kind: KindSchedule, pat: &pattern{src: name, required: []elem{{kind: litElem, text: name}}}, handler: h, job: j}
	for _, o := range opts {
		o(c)
	}
	c.job = nil // options are read; the Command is the job's handler now
	j.cmd = c
	tm, err := j.parse(spec)
	if err != nil {
		panic(fmt.Sprintf("botkit: job %q: %v", name, err))
	}
	j.timing = tm
	b.jobs = append(b.jobs, j)
	return j
}

// parse reads spec as a cron expression for j: the one Schedule registers,
// or a config's override.
func (j *Job) parse(spec string) (*timing, error) {
	// @every counts from when each process computes its next tick: two
	// processes, or one after a restart, would not agree on a tick, and
	// each would run its own.
	if strings.HasPrefix(strings.TrimSpace(spec), "@every") {
		return nil, fmt.Errorf("cron expression %q: @every is not supported: its ticks count from each process's start, so processes sharing the state directory would not share them; use a five-field expression such as \"*/5 * * * *\"", spec)
	}
	sched, err := jobParser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("cron expression %q: %w", spec, err)
	}
	tm := &timing{spec: spec, sched: sched}
	tm.interval = j.longestGap(tm, time.Date(2025, 1, 1, 0, 0, 0, 0, j.loc))
	if tm.interval == 0 {
		return nil, fmt.Errorf("cron expression %q never fires", spec)
	}
	return tm, nil
}

// longestGap returns the longest time between two ticks of tm in the year
// from start (a fixed year, so that it does not change from run to run), or
// 0 when it does not tick twice in it.
func (j *Job) longestGap(tm *timing, start time.Time) time.Duration {
	end := start.AddDate(1, 0, 0)
	prev := j.next(tm, start)
	if prev.IsZero() {
		return 0
	}
	var longest time.Duration
	for n := 0; n < 20000; n++ { // every 30 minutes for a year, at most
		next := j.next(tm, prev)
		if next.IsZero() || next.After(end) {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	if longest == 0 {
		longest = 366 * 24 * time.Hour // a yearly job
	}
	return longest
}

// Jobs returns the registered jobs in registration order.
func (b *Bot) Jobs() []*Job { return append([]*Job(nil), b.jobs...) }

// jobOption returns an option that applies f to the job being scheduled,
// and panics when given to anything else.
func jobOption(what string, f func(*Job)) CommandOption {
	return func(c *Command) {
		if c.job == nil {
			panic("botkit: " + what + " is an option of Schedule only")
		}
		f(c.job)
	}
}

// In makes a job read its cron expression in the IANA time zone zone, such
// as "Europe/Paris" (the zones are built in). It panics when zone is
// unknown.
func In(zone string) CommandOption {
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" || zone == "Local" {
		panic(fmt.Sprintf("botkit: In(%q): not an IANA time zone such as Europe/Paris", zone))
	}
	return jobOption("In", func(j *Job) { j.loc = loc })
}

// CatchUp makes a job run once at start for the latest tick missed while
// the bot was down, if that tick is at most window old; older misses are
// logged and counted as missed. Without it every missed tick is. A job's
// last tick is kept in the state directory (BOT_STATE_DIR); without one,
// nothing is known across restarts. It panics when window is not positive.
func CatchUp(window time.Duration) CommandOption {
	if window <= 0 {
		panic("botkit: CatchUp window must be positive")
	}
	return jobOption("CatchUp", func(j *Job) { j.catchUp = window })
}

// Overlap lets a job's run start while the previous one still runs; by
// default that tick is skipped and counted.
func Overlap() CommandOption {
	return jobOption("Overlap", func(j *Job) { j.overlap = true })
}
