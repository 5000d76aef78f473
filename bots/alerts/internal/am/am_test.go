package am

import (
	"strings"
	"testing"
	"time"
)

func TestParseMatchers(t *testing.T) {
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "alertname=HighLatency env=dev", want: `alertname="HighLatency" env="dev"`},
		{in: `alertname=HighLatency,severity=~"crit.*"`, want: `alertname="HighLatency" severity=~"crit.*"`},
		{in: `instance!=a job!~"x|y" team="pay ments"`, err: "bad quoting"}, // a space splits a quoted value
		{in: `env!=dev`, err: "would silence every alert"},
		{in: `env=~".*"`, err: "would silence every alert"},
		{in: `severity=~"("`, err: "missing closing )"},
		{in: `9lives=x`, err: "want name=value"},
		{in: ``, err: "no matchers"},
	} {
		ms, err := ParseMatchers(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseMatchers(%q) = %v, %v; want an error with %q", tc.in, ms, err, tc.err)
			}
			continue
		}
		var got []string
		for _, m := range ms {
			got = append(got, m.String())
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("ParseMatchers(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"90m": 90 * time.Minute, "2h": 2 * time.Hour, "1d": 24 * time.Hour, "2h30m": 150 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "soon", "30s", "91d", "-1h", "1.5d"} {
		if _, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) took it", in)
		}
	}
}

func TestHash(t *testing.T) {
	start := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	msg := func(status string, endsAt time.Time, fps ...string) *Message {
		m := &Message{Version: "4", GroupKey: "k", Status: status}
		for _, fp := range fps {
			m.Alerts = append(m.Alerts, Alert{Fingerprint: fp, Status: status, StartsAt: start, EndsAt: endsAt})
		}
		return m
	}
	base := msg(Firing, start.Add(time.Hour), "a", "b").Hash()
	// The twin from the other Alertmanager, alerts in another order, a
	// firing alert's endsAt moved by a resend: the same notification.
	if h := msg(Firing, start.Add(2*time.Hour), "b", "a").Hash(); h != base {
		t.Error("a twin with another order and endsAt hashes apart")
	}
	for name, m := range map[string]*Message{
		"an alert more": msg(Firing, time.Time{}, "a", "b", "c"),
		"resolved":      msg(Resolved, start.Add(time.Hour), "a", "b"),
		"another group": func() *Message { m := msg(Firing, time.Time{}, "a", "b"); m.GroupKey = "k2"; return m }(),
		"refired later": func() *Message {
			m := msg(Firing, time.Time{}, "a", "b")
			m.Alerts[0].StartsAt = start.Add(time.Hour)
			return m
		}(),
	} {
		if m.Hash() == base {
			t.Errorf("%s: same hash as the first notification", name)
		}
	}
}

func TestParseMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"version":"3","groupKey":"k","status":"firing"}`:                                             "version",
		`{"version":"4","status":"firing"}`:                                                            "groupKey",
		`{"version":"4","groupKey":"k","status":"odd"}`:                                                "status",
		`{"version":"4","groupKey":"k","status":"firing","alerts":[{"status":"firing"}]}`:              "fingerprint",
		`{"version":"4","groupKey":"k","status":"firing","alerts":[{"status":"x","fingerprint":"f"}]}`: "status",
		`[]`: "reading",
	} {
		if _, err := ParseMessage([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseMessage(%s) = %v, want an error naming %s", body, err, want)
		}
	}
}
