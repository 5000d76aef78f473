package am

import "time"

// Order compares two states of one alert (one fingerprint) by when
// Alertmanager made them, as far as a notification tells: it has no
// sequence number, so the alert's own times order it. It returns -1 when
// next is older than cur, 0 when neither is known to be newer (the same
// firing alert, its annotations maybe changed), and 1 when next is newer.
//
//   - A later startsAt is newer: Prometheus fires an alert again with a new
//     start, and Alertmanager only merges alerts whose times overlap.
//   - For one startsAt, resolved is newer than firing, and of two
//     resolutions the later endsAt is newer.
//   - A firing alert with the start of a resolved one is older, unless its
//     notification shows something that happened after the resolution
//     (seen, its Watermark, is later than the resolution's endsAt): then
//     the alert fires again with its old start (Prometheus silent past the
//     alert's endsAt, then back, keeps the start).
func Order(cur, next Alert, seen time.Time) int {
	switch {
	case next.StartsAt.After(cur.StartsAt):
		return 1
	case next.StartsAt.Before(cur.StartsAt):
		return -1
	}
	switch {
	case cur.Status == next.Status && next.Status == Firing:
		return 0
	case cur.Status == next.Status:
		return next.EndsAt.Compare(cur.EndsAt)
	case next.Status == Resolved:
		return 1
	case seen.After(cur.EndsAt):
		return 1
	default:
		return -1
	}
}

// Watermark is the latest time a notification shows an event of: a start,
// or a resolved alert's end. Alertmanager made the notification no earlier.
// A firing alert's endsAt is not one: Alertmanager sends it as zero.
func (m *Message) Watermark() time.Time {
	var w time.Time
	for _, a := range m.Alerts {
		if a.StartsAt.After(w) {
			w = a.StartsAt
		}
		if a.Status == Resolved && a.EndsAt.After(w) {
			w = a.EndsAt
		}
	}
	return w
}
