package botkit

import (
	"fmt"
	"testing"
	"time"
)

func TestQueue(t *testing.T) {
	q := newQueue(3, 1<<30)
	for i := range 3 {
		if !q.push(work{ev: Event{ID: fmt.Sprint(i)}}) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if q.push(work{ev: Event{ID: "over"}}) {
		t.Error("push beyond the bound accepted")
	}
	for i := range 3 {
		ev, ok := q.pop()
		if !ok || ev.ev.ID != fmt.Sprint(i) {
			t.Fatalf("pop %d = %q, %v; want FIFO order", i, ev.ev.ID, ok)
		}
		q.finish()
	}
	// A popped slot frees room for one more.
	if !q.push(work{ev: Event{ID: "again"}}) {
		t.Error("push refused after the queue drained")
	}
	got := make(chan string)
	go func() {
		for {
			ev, ok := q.pop()
			if !ok {
				close(got)
				return
			}
			got <- ev.ev.ID
			q.finish()
		}
	}()
	if id := <-got; id != "again" {
		t.Errorf("pop = %q", id)
	}
	q.close()
	select {
	case _, open := <-got:
		if open {
			t.Error("pop returned an event after close on an empty queue")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pop did not return after close")
	}
	if q.push(work{ev: Event{ID: "late"}}) {
		t.Error("push after close accepted")
	}
}

// A drained queue lets go of a burst's backing array.
func TestQueueDropsBurstArray(t *testing.T) {
	q := newQueue(10000, 1<<30)
	for i := range 5000 {
		q.push(work{ev: Event{ID: fmt.Sprint(i)}})
	}
	for range 5000 {
		q.pop()
		q.finish()
	}
	if cap(q.items) != 0 || q.served != 5000 || q.busy != 0 {
		t.Errorf("after the burst: cap %d, served %d, busy %d", cap(q.items), q.served, q.busy)
	}
}

// A bound of 0 runs an event only when a worker is free to take it.
func TestQueueZeroBound(t *testing.T) {
	q := newQueue(0, 1<<30)
	if q.push(work{ev: Event{ID: "nobody"}}) {
		t.Fatal("push accepted with no worker waiting")
	}
	got := make(chan string, 1)
	go func() {
		ev, _ := q.pop()
		got <- ev.ev.ID
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !q.push(work{ev: Event{ID: "taken"}}) {
		if time.Now().After(deadline) {
			t.Fatal("push refused while a worker waited")
		}
		time.Sleep(time.Millisecond)
	}
	if id := <-got; id != "taken" {
		t.Errorf("worker got %q", id)
	}
	if q.push(work{ev: Event{ID: "busy"}}) {
		t.Error("push accepted while the only worker is busy")
	}
}
