package playbook

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botfleet/botfleet/pkg/golden"
)

// TestParseGolden feeds real ansible-core output (captured from runs of the
// playbooks in testdata/playbooks) through the parser and compares the
// progress it reports after each task and its final state with golden files.
func TestParseGolden(t *testing.T) {
	outs, err := filepath.Glob(filepath.Join("testdata", "*.out"))
	if err != nil || len(outs) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, path := range outs {
		name := strings.TrimSuffix(filepath.Base(path), ".out")
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var p Parser
			var b strings.Builder
			lastTask := ""
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				p.Feed(sc.Text())
				if st := p.State(); st.Task != lastTask && st.Task != "" {
					lastTask = st.Task
					b.WriteString("task " + st.Task + "\n")
				}
			}
			st := p.Finish()
			js, _ := json.MarshalIndent(st, "", "  ")
			b.Write(js)
			b.WriteByte('\n')
			golden.Check(t, filepath.Join("testdata", name+".golden"), b.String())
		})
	}
}

func TestParseCases(t *testing.T) {
	feed := func(lines ...string) State {
		var p Parser
		for _, l := range lines {
			p.Feed(l)
		}
		return p.Finish()
	}
	t.Run("ignored failure is not the failure", func(t *testing.T) {
		st := feed("TASK [a] ***", `fatal: [h]: FAILED! => {"msg": "x"}`, "...ignoring", "TASK [b] ***", "ok: [h]")
		if st.Failure != nil || st.Failed != 0 || st.OK != 2 {
			t.Errorf("state = %+v, want no failure, ok=2 (an ignored failure counts as ok)", st)
		}
	})
	t.Run("pretty-printed failure", func(t *testing.T) {
		st := feed("TASK [deploy] ***", `fatal: [h]: FAILED! => {`, `    "changed": false,`, `    "msg": "boom"`, `}`, "PLAY RECAP ***", "h : ok=0 changed=0 unreachable=0 failed=1")
		if st.Failure == nil || st.Failure.Msg != "boom" || st.Failure.Task != "deploy" {
			t.Errorf("failure = %+v, want boom in deploy", st.Failure)
		}
		if len(st.Recap) != 1 || st.Recap[0].Failed != 1 {
			t.Errorf("recap = %+v", st.Recap)
		}
	})
	t.Run("loop counts once per host", func(t *testing.T) {
		st := feed("TASK [l] ***", "ok: [h] => (item=a)", "changed: [h] => (item=b)", "ok: [h] => (item=c)")
		if st.OK != 1 || st.Changed != 1 {
			t.Errorf("ok=%d changed=%d, want 1 and 1", st.OK, st.Changed)
		}
	})
	t.Run("2.19 error prefix", func(t *testing.T) {
		st := feed("[ERROR]: couldn't resolve module/action 'x'")
		if st.Error != "couldn't resolve module/action 'x'" {
			t.Errorf("error = %q", st.Error)
		}
	})
	t.Run("long message is cut", func(t *testing.T) {
		st := feed("TASK [t] ***", `fatal: [h]: FAILED! => {"msg": "`+strings.Repeat("é", 2000)+`"}`)
		if st.Failure == nil || len(st.Failure.Msg) > maxMsg+len("…") || !strings.HasSuffix(st.Failure.Msg, "…") {
			t.Errorf("message not cut: %d bytes", len(st.Failure.Msg))
		}
	})
}

// FuzzParser checks that no output makes the parser panic or keep more
// than its bounds.
func FuzzParser(f *testing.F) {
	for _, s := range []string{"TASK [x] ***\nfatal: [h]: FAILED! => {\n", "PLAY RECAP ***\nh : ok=1", "ok: [h] => (item=) => {"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var p Parser
		for _, l := range strings.Split(s, "\n") {
			p.Feed(l)
		}
		st := p.Finish()
		if st.Failure != nil && len(st.Failure.Msg) > maxMsg+len("…") {
			t.Errorf("message of %d bytes", len(st.Failure.Msg))
		}
	})
}
