package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"unicode/utf8"
)

// maxLine bounds a line of the history. Longer lines are skipped as they are
// read, never held whole; appendLocked keeps records under it.
const maxLine = 1 << 20

// maxError bounds the error text kept in a record.
const maxError = 4 << 10

// tailBlock is how much of the history is read at a time, from its end.
const tailBlock = 64 << 10

// appendLocked adds r to the history; the caller holds the history lock.
// Once the file is over the Store's size limit it is rotated: it becomes
// the previous generation (replacing the one before), so the history keeps
// between one and two limits' worth of records.
func (s *Store) appendLocked(r Record) error {
	r.Progress = ""
	if len(r.Error) > maxError {
		r.Error = clip(r.Error, maxError) + "…"
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("recording job #%d: %w", r.ID, err)
	}
	if len(b) >= maxLine {
		return fmt.Errorf("recording job #%d: the record is %d bytes, over the history's %d", r.ID, len(b), maxLine)
	}
	f, err := os.OpenFile(s.historyPath(), os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("opening the history: %w", err)
	}
	line := append(b, '\n')
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening the history: %w", err)
	}
	if fi.Size() > 0 {
		// A write torn by a crash leaves a line without its newline: end
		// it, or this record would be glued to it and lost with it.
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("appending to the history: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("syncing the history: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("appending to the history: %w", err)
	}
	if fi.Size()+int64(len(line)) > s.maxBytes {
		if err := os.Rename(s.historyPath(), s.previousPath()); err != nil {
			return fmt.Errorf("rotating the history: %w", err)
		}
		s.log.Info("rotated the job history", "file", s.historyPath(), "bytes", fi.Size()+int64(len(line)))
	}
	return nil
}

// clip cuts s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// eachRecord calls fn with the history's valid records, newest line first,
// across both generations, until fn returns false. It reads the files from
// their ends, a block at a time, so that the cost is that of the records
// fn looks at, not of the history.
func (s *Store) eachRecord(fn func(Record) bool) error {
	for _, path := range []string{s.historyPath(), s.previousPath()} {
		more := true
		err := eachLineBack(path, func(line []byte) bool {
			var r Record
			if json.Unmarshal(line, &r) != nil || !r.valid() {
				return true
			}
			more = fn(r)
			return more
		})
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return nil
}

// eachLineBack calls fn with every line of the file at path, last first,
// without its newline, until fn returns false. A line longer than maxLine
// is skipped as it is read, never held whole. A missing file has no lines.
func eachLineBack(path string, fn func([]byte) bool) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading the history: %w", err)
	}
	// partial is the end of a line whose start is in an earlier block;
	// skipping is set while a line over maxLine goes by.
	var partial []byte
	skipping := false
	buf := make([]byte, tailBlock)
	for off := fi.Size(); off > 0; {
		n := int64(tailBlock)
		if off < n {
			n = off
		}
		off -= n
		block := buf[:n]
		if _, err := f.ReadAt(block, off); err != nil && err != io.EOF {
			return fmt.Errorf("reading the history: %w", err)
		}
		for {
			i := bytes.LastIndexByte(block, '\n')
			if i < 0 {
				break
			}
			if !skipping {
				line := block[i+1:]
				if len(partial) > 0 {
					line = append(append(make([]byte, 0, len(line)+len(partial)), line...), partial...)
				}
				if len(line) > 0 && len(line) <= maxLine && !fn(line) {
					return nil
				}
			}
			partial, skipping = partial[:0], false
			block = block[:i]
		}
		switch {
		case skipping:
		case len(partial)+len(block) > maxLine:
			skipping, partial = true, partial[:0]
		default:
			partial = append(append(make([]byte, 0, len(block)+len(partial)), block...), partial...)
		}
	}
	if !skipping && len(partial) > 0 && len(partial) <= maxLine {
		fn(partial)
	}
	return nil
}
