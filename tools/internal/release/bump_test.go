package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/botfleet/botfleet/tools/internal/overlay"
)

// remote is a bare repository standing in for GitHub, and seed, a clone in
// which the tests make main's history. Bump runs in clones of its own.
type remote struct {
	t      *testing.T
	origin string
	seed   string
}

var bots = []string{"a", "b", "c"}

// newRemote makes the remote with bots a, b and c, each with a dev and a
// prd overlay whose tag is a new bot's placeholder. git's configuration is
// the test's own.
func newRemote(t *testing.T) *remote {
	t.Helper()
	t.Setenv("GIT_CONFIG_GLOBAL", os.DevNull)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR_NAME", "GIT_COMMITTER_NAME"} {
		t.Setenv(k, "botfleet")
	}
	for _, k := range []string{"GIT_AUTHOR_EMAIL", "GIT_COMMITTER_EMAIL"} {
		t.Setenv(k, "dev@botfleet.invalid")
	}
	dir := t.TempDir()
	r := &remote{t: t, origin: filepath.Join(dir, "origin.git"), seed: filepath.Join(dir, "seed")}
	git(t, dir, "init", "-q", "--bare", "-b", "main", r.origin)
	git(t, dir, "init", "-q", "-b", "main", r.seed)
	write(t, r.seed, "README.md", "# fleet\n")
	for _, b := range bots {
		for _, env := range []string{"dev", "prd"} {
			write(t, r.seed, overlay.Path(b, env), "# "+b+" in "+env+"\nimages:\n  - name: "+b+"\n    newName: registry/"+b+"\n    newTag: \"0000000\"\n")
		}
	}
	git(t, r.seed, "add", "-A")
	git(t, r.seed, "commit", "-q", "-m", "bots")
	git(t, r.seed, "remote", "add", "origin", r.origin)
	git(t, r.seed, "push", "-q", "origin", "HEAD:refs/heads/main")
	return r
}

// commit makes a commit on main (pulling what bump pushed first) and
// returns it.
func (r *remote) commit(msg string) string {
	r.t.Helper()
	git(r.t, r.seed, "pull", "-q", "--rebase", "origin", "main")
	f, err := os.OpenFile(filepath.Join(r.seed, "README.md"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		r.t.Fatal(err)
	}
	f.WriteString(msg + "\n")
	f.Close()
	git(r.t, r.seed, "commit", "-q", "-am", msg)
	git(r.t, r.seed, "push", "-q", "origin", "HEAD:refs/heads/main")
	return git(r.t, r.seed, "rev-parse", "HEAD")
}

// clone is a fresh clone of the remote, as a release job checks it out.
func (r *remote) clone() string {
	r.t.Helper()
	dir := filepath.Join(r.t.TempDir(), "work")
	git(r.t, filepath.Dir(dir), "clone", "-q", r.origin, dir)
	return dir
}

// ref is a ref's commit in the remote; "" when it does not exist.
func (r *remote) ref(name string) string {
	r.t.Helper()
	out, err := exec.Command("git", "--git-dir", r.origin, "rev-parse", "--verify", "-q", name+"^{commit}").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// tags are the bots' tags in env on the remote's main.
func (r *remote) tags(env string) map[string]string {
	r.t.Helper()
	tags := map[string]string{}
	for _, b := range bots {
		out, err := exec.Command("git", "--git-dir", r.origin, "show", "main:"+overlay.Path(b, env)).Output()
		if err != nil {
			continue // gone
		}
		tag, err := overlay.Tag(out, b)
		if err != nil {
			r.t.Fatal(err)
		}
		tags[b] = tag
	}
	return tags
}

// bump runs Bump in a fresh clone, as a release job does.
func (r *remote) bump(o Options) *Report {
	r.t.Helper()
	o.Repo = r.clone()
	o.Env = "dev"
	o.DeployedTag = "deployed/dev"
	rep, err := Bump(r.t.Context(), o)
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, root, name, body string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func outcomes(rep *Report) map[string]Outcome {
	m := map[string]Outcome{}
	for _, b := range rep.Bots {
		m[b.Bot] = b.Outcome
	}
	return m
}

func TestBumpMovesForward(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	rep := r.bump(Options{Tag: c1, Bots: []string{"a", "b"}})
	if diff := cmp.Diff(map[string]Outcome{"a": Set, "b": Set}, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if !rep.OK() || rep.Commit == "" || rep.Commit != r.ref("main") {
		t.Errorf("report %+v; main is %s", rep, r.ref("main"))
	}
	if diff := cmp.Diff(map[string]string{"a": c1, "b": c1, "c": "0000000"}, r.tags("dev")); diff != "" {
		t.Errorf("dev tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"a": "0000000", "b": "0000000", "c": "0000000"}, r.tags("prd")); diff != "" {
		t.Errorf("prd tags changed (-want +got):\n%s", diff)
	}
	if got := r.ref("deployed/dev"); got != c1 {
		t.Errorf("deployed/dev at %q, want %s (%s)", got, c1, rep.Deployed)
	}
	if msg := git(t, r.seed, "--git-dir", r.origin, "log", "-1", "--format=%s", "main"); msg != "release "+c1[:12]+" to dev: a b [skip ci]" {
		t.Errorf("commit message %q", msg)
	}

	// The next release: one bot, on top of the bump commit.
	c2 := r.commit("two")
	rep = r.bump(Options{Tag: c2, Bots: []string{"b"}})
	if diff := cmp.Diff(map[string]string{"a": c1, "b": c2, "c": "0000000"}, r.tags("dev")); diff != "" {
		t.Errorf("dev tags after c2 (-want +got):\n%s", diff)
	}
	if got := r.ref("deployed/dev"); got != c2 {
		t.Errorf("deployed/dev at %q, want %s (%s)", got, c2, rep.Deployed)
	}

	// Run again: nothing to push, nothing moves.
	main := r.ref("main")
	rep = r.bump(Options{Tag: c2, Bots: []string{"b"}})
	if rep.Commit != "" || r.ref("main") != main || outcomes(rep)["b"] != Unchanged || !rep.OK() {
		t.Errorf("the same release again: report %+v, main %s -> %s", rep, main, r.ref("main"))
	}
}

// TestBumpRefusesToMoveBack runs an older release again after a newer one
// (GitHub's "Re-run jobs" on an old run): the bots that run newer images
// keep them, and deployed/dev stays.
func TestBumpRefusesToMoveBack(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	r.bump(Options{Tag: c1, Bots: []string{"a", "b"}})
	c2 := r.commit("two")
	c3 := r.commit("three")
	// c3: a's image built, b's failed; b keeps c1's image.
	rep := r.bump(Options{Tag: c3, Bots: []string{"a"}, Failed: []string{"b"}})
	if diff := cmp.Diff(map[string]Outcome{"a": Set, "b": Failed}, outcomes(rep)); diff != "" {
		t.Errorf("c3 outcomes (-want +got):\n%s", diff)
	}
	if rep.OK() || r.ref("deployed/dev") != c1 {
		t.Errorf("with b failed: OK %v, deployed/dev %s, want not OK and c1 (%s)", rep.OK(), r.ref("deployed/dev"), rep.Deployed)
	}

	// c2's release again, after c3's: a stays at c3; b moves forward from c1.
	main := r.ref("main")
	rep = r.bump(Options{Tag: c2, Bots: []string{"a", "b"}})
	if diff := cmp.Diff(map[string]Outcome{"a": Refused, "b": Set}, outcomes(rep)); diff != "" {
		t.Errorf("c2 again: outcomes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"a": c3, "b": c2, "c": "0000000"}, r.tags("dev")); diff != "" {
		t.Errorf("dev tags (-want +got):\n%s", diff)
	}
	if rep.OK() || !strings.Contains(rep.Bots[0].Why, "later commit") {
		t.Errorf("a refused? %+v", rep.Bots[0])
	}
	if r.ref("deployed/dev") != c1 {
		t.Errorf("deployed/dev moved to %s", r.ref("deployed/dev"))
	}
	if r.ref("main^") != main {
		t.Errorf("main: want one commit on %s", main)
	}

	// Every bot on c3, deployed/dev at c3; then c1's release again changes nothing.
	r.bump(Options{Tag: c3, Bots: []string{"a", "b"}})
	if r.ref("deployed/dev") != c3 {
		t.Fatalf("deployed/dev at %s, want c3", r.ref("deployed/dev"))
	}
	main = r.ref("main")
	rep = r.bump(Options{Tag: c1, Bots: []string{"a", "b"}})
	if diff := cmp.Diff(map[string]Outcome{"a": Refused, "b": Refused}, outcomes(rep)); diff != "" {
		t.Errorf("c1 again: outcomes (-want +got):\n%s", diff)
	}
	if r.ref("main") != main || r.ref("deployed/dev") != c3 || rep.Commit != "" {
		t.Errorf("c1 again moved main (%s -> %s) or deployed/dev (%s)", main, r.ref("main"), r.ref("deployed/dev"))
	}

	// deployed/dev alone is never moved back either.
	rep = r.bump(Options{Tag: c2})
	if r.ref("deployed/dev") != c3 || !strings.Contains(rep.Deployed, "never moves back") {
		t.Errorf("deployed/dev %s after c2 with no bots: %s", r.ref("deployed/dev"), rep.Deployed)
	}
}

func TestBumpRebuilds(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	tests := []struct {
		tag  string
		want Outcome
	}{
		{c1, Set},
		{c1 + "-rebuild-7", Set},
		{c1, Refused},                // the first build of c1, after its rebuild
		{c1 + "-rebuild-5", Refused}, // an earlier rebuild
		{c1 + "-rebuild-7", Unchanged},
		{c1 + "-rebuild-9", Set},
	}
	for _, tt := range tests {
		rep := r.bump(Options{Tag: tt.tag, Bots: []string{"a"}})
		if got := outcomes(rep)["a"]; got != tt.want {
			t.Errorf("%s: %s, want %s (%+v)", tt.tag, got, tt.want, rep.Bots)
		}
	}
	if got := r.tags("dev")["a"]; got != c1+"-rebuild-9" {
		t.Errorf("a at %s, want the last rebuild", got)
	}
}

// TestBumpRetriesWhenMainMoves has the remote reject the first push, as
// GitHub does when a merge lands between bump's fetch and its push.
func TestBumpRetriesWhenMainMoves(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	// A merge that will land meanwhile: pushed to a side branch now.
	merge := r.commit("a merge")
	git(t, r.seed, "push", "-q", "origin", "HEAD:refs/heads/side")
	git(t, r.seed, "push", "-q", "-f", "origin", c1+":refs/heads/main")
	git(t, r.seed, "reset", "-q", "--hard", c1)
	hook := filepath.Join(r.origin, "hooks", "update")
	script := "#!/bin/sh\n" +
		"# The first push to main finds that main moved meanwhile.\n" +
		"if [ \"$1\" = refs/heads/main ] && [ ! -e \"$GIT_DIR/moved\" ]; then\n" +
		"  touch \"$GIT_DIR/moved\"\n" +
		"  git update-ref refs/heads/main " + merge + " || exit 2\n" +
		"  exit 1\n" +
		"fi\n"
	if err := os.WriteFile(hook, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}

	rep := r.bump(Options{Tag: c1, Bots: []string{"a"}})
	if r.ref("main") != rep.Commit || r.ref("main^") != merge {
		t.Errorf("main %s (parent %s), want the bump commit %s on the merge %s", r.ref("main"), r.ref("main^"), rep.Commit, merge)
	}
	if got := r.tags("dev")["a"]; got != c1 {
		t.Errorf("a at %s, want %s", got, c1)
	}

	// Out of attempts: an error, and main as the remote has it.
	c2 := r.commit("two")
	if err := os.Remove(filepath.Join(r.origin, "moved")); err != nil {
		t.Fatal(err)
	}
	_, err := Bump(t.Context(), Options{Repo: r.clone(), Env: "dev", Tag: c2, Bots: []string{"b"}, Attempts: 1})
	if err == nil || !strings.Contains(err.Error(), "1 attempts") {
		t.Errorf("one attempt, rejected: error %v", err)
	}
}

func TestBumpGoneBot(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	git(t, r.seed, "rm", "-q", "-r", "bots/c")
	git(t, r.seed, "commit", "-q", "-m", "c goes")
	git(t, r.seed, "push", "-q", "origin", "HEAD:refs/heads/main")
	rep := r.bump(Options{Tag: c1, Bots: []string{"a", "c"}})
	if diff := cmp.Diff(map[string]Outcome{"a": Set, "c": Gone}, outcomes(rep)); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	if !rep.OK() || r.ref("deployed/dev") != c1 {
		t.Errorf("OK %v, deployed/dev %s: a gone bot holds nothing back", rep.OK(), r.ref("deployed/dev"))
	}
}

// TestBumpUnrelatedHistory: a tag from a commit that main's history does not
// hold (a force-push, another repo) is neither older nor newer; it stays.
func TestBumpUnrelatedHistory(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	git(t, r.seed, "switch", "-q", "--orphan", "elsewhere")
	write(t, r.seed, "other.txt", "x\n")
	git(t, r.seed, "add", "other.txt")
	git(t, r.seed, "commit", "-q", "-m", "elsewhere")
	other := git(t, r.seed, "rev-parse", "HEAD")
	git(t, r.seed, "push", "-q", "origin", "HEAD:refs/heads/elsewhere")
	git(t, r.seed, "switch", "-q", "main")
	r.bump(Options{Tag: other, Bots: []string{"a"}})
	rep := r.bump(Options{Tag: c1, Bots: []string{"a"}})
	if got := outcomes(rep)["a"]; got != Refused || !strings.Contains(rep.Bots[0].Why, "not an ancestor") {
		t.Errorf("a: %+v, want refused", rep.Bots)
	}
}

func TestBumpBadInput(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	dirty := r.clone()
	write(t, dirty, overlay.Path("a", "dev"), "edited\n")
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"not a release tag", Options{Repo: r.clone(), Env: "dev", Tag: "v1.2.3", Bots: []string{"a"}}, `tag "v1.2.3": want a release's tag`},
		{"commit not here", Options{Repo: r.clone(), Env: "dev", Tag: strings.Repeat("ab", 20), Bots: []string{"a"}}, "is not in"},
		{"no environment", Options{Repo: r.clone(), Tag: c1, Bots: []string{"a"}}, "no environment"},
		{"built and failed", Options{Repo: r.clone(), Env: "dev", Tag: c1, Bots: []string{"a"}, Failed: []string{"a"}}, "a: both built and failed"},
		{"uncommitted changes", Options{Repo: dirty, Env: "dev", Tag: c1, Bots: []string{"a"}}, "has uncommitted changes"},
	}
	main := r.ref("main")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Bump(t.Context(), tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
			if r.ref("main") != main || r.ref("deployed/dev") != "" {
				t.Error("the remote changed")
			}
		})
	}
}

func TestDeployed(t *testing.T) {
	r := newRemote(t)
	c1 := r.commit("one")
	r.bump(Options{Tag: c1, Bots: []string{"a"}})
	c2 := r.commit("two")
	r.bump(Options{Tag: c2 + "-rebuild-3", Bots: []string{"b"}})
	work := r.clone()
	got, err := Deployed(t.Context(), work, "dev", "origin/main")
	if err != nil {
		t.Fatal(err)
	}
	// c keeps the placeholder: no release known.
	if diff := cmp.Diff(map[string]string{"a": c1, "b": c2}, got); diff != "" {
		t.Errorf("dev (-want +got):\n%s", diff)
	}
	// At c2, before the bump of b, only a.
	if got, err = Deployed(t.Context(), work, "dev", c2); err != nil || len(got) != 1 || got["a"] != c1 {
		t.Errorf("at c2: %v, %v", got, err)
	}
	if got, err = Deployed(t.Context(), work, "prd", "origin/main"); err != nil || len(got) != 0 {
		t.Errorf("prd: %v, %v; want none", got, err)
	}
	if _, err = Deployed(t.Context(), work, "dev", "nope"); err == nil || !strings.Contains(err.Error(), "no such commit") {
		t.Errorf("unknown revision: %v", err)
	}
}
