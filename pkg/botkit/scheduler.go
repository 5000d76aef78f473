package botkit

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxTickScan bounds how many past ticks are counted after a long stop: a
// job every minute down for a week is 10,080.
const maxTickScan = 100000

// jobChain is what a job's run goes through: the bot's middleware, panic
// recovery and the job's timeout. Access rules, rate limits and
// confirmations are about people; a tick has none.
func (rt *Runtime) jobChain(c *Command) Handler {
	h := Handler(c.handler)
	mw := rt.bot.middleware
	for i := len(mw) - 1; i >= 0; i-- {
		h = mw[i](h)
	}
	h = Recover()(h)
	timeout := c.timeout
	if timeout == 0 {
		timeout = rt.commandTimeout
	}
	return withTimeout(timeout)(h)
}

// store returns where job state lives: the state directory the settings
// name (state.dir), else the runtime's (BOT_STATE_DIR), else its memory.
func (s *session) store() jobStore {
	if dir := s.rt.scheduleDir(); dir != "" {
		return dirStore{dir: dir}
	}
	return s.rt.jobMem
}

// scheduleDir is the state directory scheduled jobs use, or "".
func (rt *Runtime) scheduleDir() string { return rt.stateDir }

// runJobs runs the bot's jobs until ctx ends. Runs it started are tracked
// in s.notes, which Run waits for.
func (s *session) runJobs(ctx context.Context) {
	rt := s.rt
	if len(rt.bot.jobs) == 0 {
		return
	}
	if rt.scheduleDir() == "" {
		// Expected on a laptop, where the console shows warnings: only a
		// pod's missing state directory is worth one.
		level := slog.LevelWarn
		if rt.env == "" || rt.env == EnvLocal {
			level = slog.LevelInfo
		}
		rt.logger.Log(context.Background(), level, "no state directory (state.dir or BOT_STATE_DIR): scheduled jobs forget their last runs on restart, and two processes would both run them")
	}
	var wg sync.WaitGroup
	for _, j := range rt.bot.jobs {
		wg.Go(func() { s.runJob(ctx, j) })
	}
	wg.Wait()
}

// timing returns j's cron expression: the config's (schedule.jobs), else
// the one it was registered with.
func (rt *Runtime) timing(j *Job) *timing {
	if tm := rt.policy.load().timings[j.name]; tm != nil {
		return tm
	}
	return j.timing
}

// runJob runs one job's ticks until ctx ends.
func (s *session) runJob(ctx context.Context, j *Job) {
	rt := s.rt
	log := rt.logger.With("job", j.name)
	now := rt.now()
	st := s.store()
	if t, err := st.lastSuccess(j.name, now); err != nil {
		log.Error("reading the job's last success", "err", err)
	} else {
		rt.metrics.jobLastSuccess.Gauge(j.name).Set(float64(t.Unix()))
	}
	var running atomic.Int32
	s.catchUp(j, st, now, &running, log)

	after := now
	for {
		changed := rt.policy.changes()
		tm := rt.timing(j)
		rt.metrics.jobInterval.Gauge(j.name).Set(tm.interval.Seconds())
		next := j.next(tm, after)
		if next.IsZero() {
			return
		}
		rt.metrics.jobNext.Gauge(j.name).Set(float64(next.Unix()))
		timer := time.NewTimer(next.Sub(rt.now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-changed:
			// A reload: the next tick is the new expression's first after
			// now (or after the last tick, if that is later).
			timer.Stop()
			if tm.spec != rt.timing(j).spec {
				log.Info("cron expression changed", "was", tm.spec, "cron", rt.timing(j).spec)
				if now := rt.now(); now.After(after) {
					after = now
				}
			}
			continue
		case <-timer.C:
		}
		// Woken late (a suspended machine, a stalled process): the ticks
		// passed meanwhile are missed, the latest runs.
		now := rt.now()
		missed := 0
		for n := j.next(tm, next); !n.IsZero() && !n.After(now) && missed < maxTickScan; n = j.next(tm, n) {
			next = n
			missed++
		}
		if missed > 0 {
			rt.metrics.jobRuns.Counter(j.name, OutcomeMissed).Add(missed)
			log.Warn("woke late; ticks missed", "missed", missed)
		}
		after = next
		s.tick(j, s.store(), next, &running, log)
	}
}

// catchUp deals with the ticks that passed while no process ran the job:
// the latest runs now if the job's CatchUp window covers it; the others are
// counted and logged as missed. The latest is claimed either way, so that
// it is dealt with once.
func (s *session) catchUp(j *Job, st jobStore, now time.Time, running *atomic.Int32, log *slog.Logger) {
	last, err := st.lastTick(j.name)
	if err != nil {
		log.Error("reading the job's last tick", "err", err)
		return
	}
	if last.IsZero() {
		return // never ran: nothing was missed
	}
	tm := s.rt.timing(j)
	var latest time.Time
	n := 0
	for t := j.next(tm, last); !t.IsZero() && !t.After(now) && n < maxTickScan; t = j.next(tm, t) {
		latest = t
		n++
	}
	if n == 0 {
		return
	}
	if j.catchUp > 0 && now.Sub(latest) <= j.catchUp {
		log.Info("running a tick missed while the bot was down", "tick", latest, "window", j.catchUp)
		n--
		s.tick(j, st, latest, running, log)
	} else {
		ok, err := st.claim(j.name, latest)
		if err != nil {
			s.stateError(j, latest, err, log)
			return
		}
		if !ok {
			return // another process is dealing with it
		}
	}
	if n > 0 {
		rt := s.rt
		rt.metrics.jobRuns.Counter(j.name, OutcomeMissed).Add(n)
		log.Warn("ticks missed while the bot was down", "missed", n, "last_tick", last, "latest_missed", latest, "catch_up", j.catchUp)
	}
}

// tick runs j for tick unless its previous run still goes (and it does not
// allow Overlap) or another process took the tick.
func (s *session) tick(j *Job, st jobStore, tick time.Time, running *atomic.Int32, log *slog.Logger) {
	rt := s.rt
	if !j.overlap && running.Load() > 0 {
		rt.metrics.jobRuns.Counter(j.name, OutcomeSkipped).Inc()
		log.Warn("previous run still going; tick skipped", "tick", tick)
		return
	}
	ok, err := st.claim(j.name, tick)
	if err != nil {
		s.stateError(j, tick, err, log)
		return
	}
	if !ok {
		log.Debug("tick taken by another process", "tick", tick)
		return
	}
	running.Add(1)
	s.notes.Go(func() {
		defer running.Add(-1)
		s.runTick(j, st, tick)
	})
}

// stateError reports a tick that could not be claimed: it does not run,
// since it could then run twice.
func (s *session) stateError(j *Job, tick time.Time, err error, log *slog.Logger) {
	s.rt.metrics.errors.Counter("schedule_state").Inc()
	log.Error("claiming a tick; not run", "tick", tick, "err", err)
	s.reportJob(s.ctx, j, fmt.Sprintf("Scheduled job `%s` did not run at %s: the state directory failed (%s).",
		j.name, tick.In(j.loc).Format(time.RFC3339), Escape(clip(err.Error(), 300))))
}

// Tick returns the time a scheduled job's run is for (its cron tick, in the
// job's zone), which is a little before it started; zero for other kinds.
func (r *Request) Tick() time.Time { return r.tick }

// runTick runs j for tick, records its outcome and reports a failure.
func (s *session) runTick(j *Job, st jobStore, tick time.Time) {
	rt := s.rt
	set := rt.policy.load()
	req := &Request{
		Kind: KindSchedule, Text: j.name, Channel: set.Schedule.Channel, CorrelationID: newCorrelationID(),
		ev: &Event{Kind: KindSchedule, Channel: set.Schedule.Channel}, received: rt.now(), cmd: j.cmd, tr: s.tr, rt: rt,
		tick: tick,
	}
	req.logger = rt.logger.With(slog.String("job", j.name), slog.Time("tick", tick),
		slog.String("channel", req.Channel), slog.String("correlation_id", req.CorrelationID))
	start := time.Now()
	err := rt.chains[j.cmd].ServeCommand(s.ctx, req)
	d := time.Since(start)

	outcome := Outcome(err)
	rt.metrics.jobRuns.Counter(j.name, outcome).Inc()
	rt.metrics.duration.Histogram(durationBuckets, "job:"+j.name).Update(d.Seconds())
	attrs := []any{slog.String("outcome", outcome), slog.Duration("duration", d)}
	level := slog.LevelInfo
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
		level = slog.LevelError
	}
	req.logger.Log(s.ctx, level, "audit", attrs...)
	if ch := set.Audit.Channel; ch != "" {
		s.postNote(ch, req, fmt.Sprintf("Scheduled job `%s` ran for its %s tick: %s (%s, ref `%s`)",
			j.name, tick.In(j.loc).Format("2006-01-02 15:04 MST"), outcome, d.Round(time.Millisecond), req.CorrelationID))
	}
	if err == nil {
		done := rt.now()
		if err := st.succeeded(j.name, done); err != nil {
			rt.metrics.errors.Counter("schedule_state").Inc()
			req.logger.Error("recording the job's success", "err", err)
		}
		rt.metrics.jobLastSuccess.Gauge(j.name).Set(float64(done.Unix()))
		return
	}
	s.reportJob(s.ctx, j, fmt.Sprintf("Scheduled job `%s` failed for its %s tick: %s (ref `%s`).",
		j.name, tick.In(j.loc).Format("2006-01-02 15:04 MST"), Escape(strings.TrimSuffix(clip(err.Error(), 500), ".")), req.CorrelationID))
}

// reportJob posts text in the errors channel the settings name, if any.
func (s *session) reportJob(ctx context.Context, j *Job, text string) {
	ch := s.rt.policy.load().Schedule.ErrorsChannel
	if ch == "" {
		return
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), noteTimeout)
	defer cancel()
	if _, err := s.tr.Post(pctx, Message{Channel: ch, Text: text}); err != nil {
		s.rt.metrics.errors.Counter("post").Inc()
		s.rt.logger.Error("posting to the errors channel", "job", j.name, "errors_channel", ch, "err", err)
	}
}

// postNote posts text in channel for req, logging a failure.
func (s *session) postNote(channel string, req *Request, text string) {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), noteTimeout)
	defer cancel()
	if _, err := s.tr.Post(pctx, Message{Channel: channel, Text: text}); err != nil {
		s.rt.metrics.errors.Counter("audit").Inc()
		req.logger.Error("posting to the audit channel", "audit_channel", channel, "err", err)
	}
}
