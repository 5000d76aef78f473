package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/botfleet/botfleet/pkg/atomicfile"
)

// Import adds to the history, once per name, jobs a bot recorded before it
// used this package (its own history, in its own format, converted by the
// bot), and numbers on after the larger of seq (the old counter) and
// their largest number, so that no number repeats. Invalid records are
// skipped. It reports whether it imported: a name imported before is not
// again, in any process sharing the directory. A crash halfway leaves no
// mark, and the next start imports again: a job's last line wins, so the
// history reads the same.
func (s *Store) Import(ctx context.Context, name string, recs []Record, seq int64) (bool, error) {
	hl, err := s.historyLock(ctx)
	if err != nil {
		return false, err
	}
	defer hl.Release()
	mark := filepath.Join(s.dir, "imported", safeName(name))
	if _, err := os.Stat(mark); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("importing %s: %w", name, err)
	}
	recs = slices.Clone(recs)
	sortByID(recs)
	for _, r := range recs {
		if !r.valid() {
			continue
		}
		if err := s.appendLocked(r); err != nil {
			return false, fmt.Errorf("importing %s: %w", name, err)
		}
		seq = max(seq, r.ID)
	}
	if b, err := os.ReadFile(s.seqPath()); err == nil {
		if v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil {
			seq = max(seq, v)
		}
	}
	if err := atomicfile.Write(s.seqPath(), []byte(strconv.FormatInt(seq, 10)+"\n"), 0o640); err != nil {
		return false, fmt.Errorf("importing %s: writing the job counter: %w", name, err)
	}
	if err := os.MkdirAll(filepath.Dir(mark), 0o750); err != nil {
		return false, fmt.Errorf("importing %s: %w", name, err)
	}
	note := fmt.Sprintf("%s %d records, counter %d\n", time.Now().UTC().Format(time.RFC3339), len(recs), seq)
	if err := atomicfile.Write(mark, []byte(note), 0o640); err != nil {
		return false, fmt.Errorf("importing %s: %w", name, err)
	}
	s.log.Info("imported jobs", "from", name, "records", len(recs), "counter", seq)
	return true, nil
}
