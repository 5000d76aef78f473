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

// Create makes path with content data, mode perm, only if path does not
// exist: a temporary file written and fsynced, then hard-linked to path.
// link(2) fails when path exists, atomically, on local file systems and on
// NFSv4 alike, so of several processes creating one path exactly one
// succeeds, and what any reader finds at path is whole (unlike an O_EXCL
// create, which shows the file before its content). When path exists the
// error satisfies errors.Is(err, fs.ErrExist).
func Create(path string, data []byte, perm os.FileMode) error {
	return create(path, data, perm, true)
}

// CreateUnsynced is Create without the fsync: for a small note whose loss
// in a crash of the machine (not of the process: the page cache, or on NFS
// the server, has it once the file is closed) only costs work done again.
func CreateUnsynced(path string, data []byte, perm os.FileMode) error {
	return create(path, data, perm, false)
}

func create(path string, data []byte, perm os.FileMode, sync bool) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err = f.Write(data); err == nil {
		if err = f.Chmod(perm); err == nil && sync {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Link(f.Name(), path)
}
