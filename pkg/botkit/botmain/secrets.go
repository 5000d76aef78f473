package botmain

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// secretsWatcher polls the directory where a pod mounts its Slack Secret
// (BOT_SECRETS_DIR). The tokens reach the bot as env vars, which never
// change in a running process; the kubelet does refresh a mounted Secret.
// So when the files' content changes (a token rotated in AWS Secrets
// Manager, copied by the External Secrets Operator), the watcher stops the
// bot as SIGTERM would: it drains and exits 0, and the kubelet restarts
// the container, which reads the Secret's new values into its env.
type secretsWatcher struct {
	dir      string
	interval time.Duration
	logger   *slog.Logger
	stop     context.CancelFunc
}

// hash hashes the names and contents of the Secret's files. The kubelet's
// own entries (..data, ..<timestamp>) are skipped: they change with every
// update, whether or not a value did. Nothing read is logged.
func (w *secretsWatcher) hash() ([32]byte, error) {
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	names := []string{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "..") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(w.dir, n)) // follows the kubelet's symlinks
		if err != nil {
			if errorIsDir(err) {
				continue
			}
			return [32]byte{}, err
		}
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(b)
		h.Write([]byte{0})
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out, nil
}

func errorIsDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "is a directory")
}

// run polls until ctx ends or the content changes from what it was at
// start; then it calls stop. A directory that cannot be read is reported
// once, and compared again once it can.
func (w *secretsWatcher) run(ctx context.Context) {
	start, err := w.hash()
	if err != nil {
		w.logger.Warn("cannot read the mounted Slack Secret; a rotated token will not restart the bot until it can", "dir", w.dir, "err", err)
	}
	failing := err != nil
	t := time.NewTicker(w.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h, err := w.hash()
		switch {
		case err != nil:
			if !failing {
				w.logger.Warn("cannot read the mounted Slack Secret", "dir", w.dir, "err", err)
			}
			failing = true
			continue
		case failing && start == [32]byte{}:
			start, failing = h, false // readable now: the first state seen
			continue
		}
		failing = false
		if h != start {
			w.logger.Info("the Slack Secret changed (a rotated token): stopping, so that the restarted container reads it", "dir", w.dir)
			w.stop()
			return
		}
	}
}
