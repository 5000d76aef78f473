package procs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/botfleet/botfleet/pkg/flock"
)

// TestAlive: a held instance is alive to another Set (another process, on a
// local file system); once released, or never seen, it is dead, and Prune
// removes a dead process's leftover lock file but not a live one's.
func TestAlive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "procs")
	var mine, other flock.Set
	h, err := Take(&mine, dir)
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "gone-1-00.lock")
	if err := os.WriteFile(leftover, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		instance string
		want     bool
		wantErr  bool
	}{
		{"held", h.Instance(), true, false},
		{"unknown", "nobody-1-00", false, false},
		{"leftover file, unlocked", "gone-1-00", false, false},
		{"path in name", "../x", false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Alive(&other, dir, tc.instance)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("Alive(%q) = %v, %v; want %v (error %v)", tc.instance, got, err, tc.want, tc.wantErr)
			}
		})
	}
	Prune(&other, dir)
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("leftover lock file not pruned: %v", err)
	}
	if alive, _ := Alive(&other, dir, h.Instance()); !alive {
		t.Error("Prune took a live process's lock")
	}
	h.Release()
	h.Release()
	if alive, _ := Alive(&other, dir, h.Instance()); alive {
		t.Error("a released instance is still alive")
	}
}

// TestLive counts the processes holding their lock, through the Set that
// holds one and through another, and removes a dead one's file.
func TestLive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "procs")
	var a, b flock.Set
	ha, err := Take(&a, dir)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := Take(&b, dir)
	if err != nil {
		t.Fatal(err)
	}
	leftover := filepath.Join(dir, "gone-1-00.lock")
	if err := os.WriteFile(leftover, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	for _, set := range []*flock.Set{&a, &b} {
		if n, err := Live(set, dir); n != 2 || err != nil {
			t.Errorf("Live = %d, %v; want 2", n, err)
		}
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("a dead process's lock file is left: %v", err)
	}
	hb.Release()
	if n, err := Live(&a, dir); n != 1 || err != nil {
		t.Errorf("Live after one released = %d, %v; want 1", n, err)
	}
	ha.Release()
	if n, err := Live(&a, dir); n != 0 || err != nil {
		t.Errorf("Live after both released = %d, %v; want 0", n, err)
	}
}
