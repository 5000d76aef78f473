// Package atomicfile replaces a file's content so that a reader, or a crash,
// sees the old content or the new, never a part: the one way botfleet
// writes a file that others read while it changes (state on EFS, the
// installed config).
package atomicfile

import (
	"os"
	"path/filepath"
)

// Write replaces path's content with data, mode perm: a temporary file in
// path's directory (a rename is atomic only within one file system, and on
// NFS only within one directory), written, fsynced and renamed over path. A
// temporary file of its own per call, so two writers never mix their
// bytes; it is removed when anything fails. The errors are the os package's,
// which name the file.
func Write(path string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Chmod(perm); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
