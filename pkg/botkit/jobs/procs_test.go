package jobs

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The tests below run the test binary again as other bot processes sharing
// a state directory; TestMain makes it one when JOBS_TEST_CHILD says so.
func TestMain(m *testing.M) {
	switch os.Getenv("JOBS_TEST_CHILD") {
	case "":
		os.Exit(m.Run())
	case "contend":
		contendChild()
	case "hold":
		holdChild()
	}
	os.Exit(0)
}

// outcome is a child's report of one request.
type outcome struct {
	Who    string `json:"who"`
	Ran    int64  `json:"ran,omitempty"`
	Holder int64  `json:"holder,omitempty"`
	HeldBy string `json:"held_by,omitempty"`
	Own    int64  `json:"own,omitempty"` // the job of phase 2
	Err    string `json:"err,omitempty"`
}

func waitFile(path string) {
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// contendChild makes 10 requests for the key "svc" at once, when the file
// JOBS_GO appears; the one that runs holds the key until JOBS_RELEASE
// appears. Then each runs a job of its own key.
func contendChild() {
	dir, name := os.Getenv("JOBS_DIR"), os.Getenv("JOBS_NAME")
	s, err := Open(dir, StoreOptions{})
	if err != nil {
		fmt.Println(`{"err":"open"}`)
		return
	}
	defer s.Close()
	var mu sync.Mutex
	say := func(o outcome) {
		mu.Lock()
		defer mu.Unlock()
		b, _ := json.Marshal(o)
		fmt.Println(string(b))
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			who := fmt.Sprintf("%s-%d", name, i)
			waitFile(os.Getenv("JOBS_GO"))
			l, _, err := s.Begin(ctx, job("svc", who))
			var busy *BusyError
			switch {
			case errors.As(err, &busy) && busy.Holder != nil:
				say(outcome{Who: who, Holder: busy.Holder.ID, HeldBy: busy.Holder.User})
			case err != nil:
				say(outcome{Who: who, Err: err.Error()})
				return
			default:
				say(outcome{Who: who, Ran: l.Record().ID})
				waitFile(os.Getenv("JOBS_RELEASE"))
				r := l.Record()
				r.Status = Succeeded
				if err := l.Finish(ctx, r); err != nil {
					say(outcome{Who: who, Err: err.Error()})
				}
			}
			l, _, err = s.Begin(ctx, job("own-"+who, who))
			if err != nil {
				say(outcome{Who: who, Err: err.Error()})
				return
			}
			r := l.Record()
			r.Status = Succeeded
			if err := l.Finish(ctx, r); err != nil {
				say(outcome{Who: who, Err: err.Error()})
				return
			}
			say(outcome{Who: who, Own: r.ID})
		})
	}
	wg.Wait()
}

// holdChild begins a job of "svc" and holds it until killed; with
// JOBS_GRANDCHILD set it first hands the key's lock file to a `sleep`, as
// a bot hands it to a playbook, so that the lock outlives this process.
func holdChild() {
	s, err := Open(os.Getenv("JOBS_DIR"), StoreOptions{})
	if err != nil {
		fmt.Println("error", err)
		return
	}
	l, _, err := s.Begin(context.Background(), job("svc", "U1"))
	if err != nil {
		fmt.Println("error", err)
		return
	}
	if os.Getenv("JOBS_GRANDCHILD") != "" {
		cmd := exec.Command("sleep", "300")
		cmd.ExtraFiles = []*os.File{l.lock.File()}
		if err := cmd.Start(); err != nil {
			fmt.Println("error", err)
			return
		}
		fmt.Println("grandchild", cmd.Process.Pid)
	}
	fmt.Println("running", l.Record().ID)
	select {}
}

func child(t *testing.T, mode string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append([]string{"JOBS_TEST_CHILD=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out)
}

// TestContentionAcrossProcesses: 20 requests for one key from two processes
// at once: exactly one job runs, the 19 others are told its number and
// requester; then every request runs a job of its own, and the history
// holds all 21, numbered 1 to 21, none lost.
func TestContentionAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	goFile, release := filepath.Join(dir, "go"), filepath.Join(dir, "release")
	var lines []outcome
	var mu sync.Mutex
	var readers sync.WaitGroup
	phase1 := make(chan struct{}, 20)
	for _, name := range []string{"A", "B"} {
		_, sc := child(t, "contend", "JOBS_DIR="+dir, "JOBS_NAME="+name, "JOBS_GO="+goFile, "JOBS_RELEASE="+release)
		readers.Go(func() {
			for sc.Scan() {
				var o outcome
				if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
					t.Errorf("a child said %q", sc.Text())
					continue
				}
				mu.Lock()
				lines = append(lines, o)
				mu.Unlock()
				if o.Own == 0 {
					phase1 <- struct{}{}
				}
			}
		})
	}
	if err := os.WriteFile(goFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		select {
		case <-phase1:
		case <-time.After(30 * time.Second):
			t.Fatalf("the children answered %d requests", len(lines))
		}
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	readers.Wait()

	var ran []outcome
	refused := 0
	own := map[int64]bool{}
	for _, o := range lines {
		switch {
		case o.Err != "":
			t.Errorf("%s: %s", o.Who, o.Err)
		case o.Ran != 0:
			ran = append(ran, o)
		case o.Own != 0:
			own[o.Own] = true
		default:
			refused++
		}
	}
	if len(ran) != 1 {
		t.Fatalf("%d jobs ran, want 1: %+v", len(ran), ran)
	}
	for _, o := range lines {
		if o.Holder != 0 && (o.Holder != ran[0].Ran || o.HeldBy != ran[0].Who) {
			t.Errorf("%s was told job #%d of %s holds the key; #%d of %s does", o.Who, o.Holder, o.HeldBy, ran[0].Ran, ran[0].Who)
		}
	}
	if refused != 19 || len(own) != 20 {
		t.Errorf("%d refused, %d own jobs; want 19 and 20", refused, len(own))
	}
	s := open(t, dir, StoreOptions{})
	hs, err := s.History(100)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, h := range hs {
		if h.Status != Succeeded || seen[h.ID] || h.ID < 1 || h.ID > 21 {
			t.Errorf("history: #%d %s", h.ID, h.Status)
		}
		seen[h.ID] = true
	}
	if len(hs) != 21 {
		t.Errorf("the history holds %d jobs, want 21", len(hs))
	}
}

// expectLine reads the child's lines until one starts with prefix.
func expectLine(t *testing.T, sc *bufio.Scanner, prefix string) string {
	t.Helper()
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return strings.TrimPrefix(sc.Text(), prefix)
		}
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
	}
	t.Fatalf("the child ended before %q: %v", prefix, sc.Err())
	return ""
}

// TestKilledDuringJob: a process killed with SIGKILL during a job. While it
// lives, its job keeps the key and nothing recovers it. Once it is dead,
// the restart records the job as interrupted (once), and the key's next job
// gets a new number: the job never runs twice. When a child of the dead
// process still holds the key's lock, the job keeps its key until the
// child ends.
func TestKilledDuringJob(t *testing.T) {
	for _, grandchild := range []bool{false, true} {
		t.Run(fmt.Sprint("grandchild=", grandchild), func(t *testing.T) {
			dir := t.TempDir()
			env := []string{"JOBS_DIR=" + dir}
			if grandchild {
				env = append(env, "JOBS_GRANDCHILD=1")
			}
			cmd, sc := child(t, "hold", env...)
			var gpid int
			if grandchild {
				fmt.Sscan(expectLine(t, sc, "grandchild "), &gpid)
				t.Cleanup(func() { _ = syscall.Kill(gpid, syscall.SIGKILL) })
			}
			if id := expectLine(t, sc, "running "); id != "1" {
				t.Fatalf("the child runs job %s", id)
			}

			s := open(t, dir, StoreOptions{})
			if got, err := s.Recover(t.Context()); err != nil || len(got) != 0 {
				t.Fatalf("Recover while the owner lives = %+v, %v", got, err)
			}
			if _, _, err := s.Begin(t.Context(), job("svc", "U2")); !errors.As(err, new(*BusyError)) {
				t.Fatalf("Begin while the owner lives = %v, want busy", err)
			}

			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			restarted := open(t, dir, StoreOptions{})
			got, err := restarted.Recover(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if grandchild {
				if len(got) != 0 {
					t.Errorf("recovered a job whose lock a child holds: %+v", got)
				}
				if _, _, err := restarted.Begin(t.Context(), job("svc", "U2")); !errors.As(err, new(*BusyError)) {
					t.Fatalf("Begin while the child holds the lock = %v, want busy", err)
				}
				if run, _ := restarted.Running(); len(run) != 1 || run[0].ID != 1 {
					t.Errorf("Running = %+v, want #1", run)
				}
				_ = syscall.Kill(gpid, syscall.SIGKILL)
				waitGone(t, gpid)
				if got, err = restarted.Recover(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != 1 || got[0].ID != 1 || got[0].Status != Interrupted {
				t.Fatalf("Recover = %+v, want #1 interrupted", got)
			}
			if again, _ := restarted.Recover(t.Context()); len(again) != 0 {
				t.Errorf("a second Recover = %+v", again)
			}
			l, _, err := restarted.Begin(t.Context(), job("svc", "U2"))
			if err != nil {
				t.Fatal(err)
			}
			if l.Record().ID != 2 {
				t.Errorf("the next job is #%d, want 2", l.Record().ID)
			}
			if r, ok, _ := restarted.Record(1); !ok || r.Status != Interrupted {
				t.Errorf("#1 is recorded as %+v", r)
			}
			procs, _ := filepath.Glob(filepath.Join(dir, "procs", "*"))
			if len(procs) != 2 { // the two live Stores'
				t.Errorf("process lock files: %v", procs)
			}
		})
	}
}

// waitGone waits until pid is reaped by init or gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 500 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("process %d did not end", pid)
}
