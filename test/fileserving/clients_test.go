package fileserving

import (
	"io/fs"
	"path/filepath"

	"github.com/dittofs/dittofs-operator/test/harness/fileclients"
)

// The NFS and SMB clients (test/harness/fileclients).
var (
	nfsWrite = fileclients.NFSWrite
	nfsRead  = fileclients.NFSRead
	smbRead  = fileclients.SMBRead
)

// filesUnder lists the regular files under dir, recursively, relative to it.
func filesUnder(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out, err
}
