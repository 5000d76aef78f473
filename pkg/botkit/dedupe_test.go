package botkit

import (
	"fmt"
	"testing"
	"time"
)

func TestDedupe(t *testing.T) {
	now := time.Unix(1700000000, 0)
	d := newDedupe(func() time.Time { return now })
	if !d.first("Ev1") || d.first("Ev1") {
		t.Fatal("Ev1: want new, then seen")
	}
	if !d.first("") || !d.first("") {
		t.Fatal("an empty id must never be deduplicated")
	}
	now = now.Add(dedupeTTL - time.Second)
	if d.first("Ev1") {
		t.Fatal("Ev1 forgotten before its TTL")
	}
	now = now.Add(2 * time.Second)
	if !d.first("Ev1") {
		t.Fatal("Ev1 still remembered after its TTL")
	}
	// Memory is bounded: past dedupeMax ids the oldest go first.
	for i := range dedupeMax + 10 {
		d.first(fmt.Sprintf("flood-%d", i))
	}
	if n := len(d.seen); n > dedupeMax {
		t.Fatalf("%d ids remembered, want at most %d", n, dedupeMax)
	}
	if d.first(fmt.Sprintf("flood-%d", dedupeMax+9)) {
		t.Error("the newest id was forgotten")
	}
	if !d.first("flood-0") {
		t.Error("the oldest id was kept past the bound")
	}
}
