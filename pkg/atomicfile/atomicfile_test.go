package atomicfile_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/botfleet/botfleet/pkg/atomicfile"
)

// Readers racing the writes see one whole content or the other, the mode
// is the one asked, and no temporary file is left.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	a, b := bytes.Repeat([]byte("a"), 1<<16), bytes.Repeat([]byte("b"), 1<<15)
	if err := atomicfile.Write(p, a, 0o640); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(p)
			if err != nil || !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				t.Errorf("a reader saw %d bytes (%v), neither content whole", len(got), err)
				return
			}
		}
	})
	for i := range 50 {
		if err := atomicfile.Write(p, [][]byte{a, b}[i%2], 0o640); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v (%v), want 0640", fi.Mode().Perm(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want the one: temporary files left", len(ents))
	}
}

// A directory that is not there changes nothing and says which.
func TestWriteMissingDir(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "state.json")
	if err := atomicfile.Write(p, []byte("x"), 0o600); err == nil || !os.IsNotExist(err) {
		t.Errorf("Write = %v, want a not-exist error", err)
	}
}

// Of writers racing to Create one path, exactly one wins, the file holds
// its content whole, the others get fs.ErrExist, and no temporary file is
// left.
func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		create func(string, []byte, os.FileMode) error
	}{{"synced", atomicfile.Create}, {"unsynced", atomicfile.CreateUnsynced}} {
		t.Run(tc.name, func(t *testing.T) { testCreate(t, tc.create) })
	}
}

func testCreate(t *testing.T, create func(string, []byte, os.FileMode) error) {
	dir := t.TempDir()
	p := filepath.Join(dir, "claim")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = create(p, bytes.Repeat([]byte{byte('a' + i)}, 1<<12), 0o600) })
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Errorf("writers %d and %d both created the file", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, fs.ErrExist):
			t.Errorf("writer %d: %v, want fs.ErrExist", i, err)
		}
	}
	if won < 0 {
		t.Fatal("no writer created the file")
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte('a' + won)}, 1<<12)) {
		t.Errorf("content is not the winner's, whole (%v)", err)
	}
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode: %v, %v", info.Mode(), err)
	}
	if left, _ := os.ReadDir(dir); len(left) != 1 {
		t.Errorf("files left: %v", left)
	}
}
