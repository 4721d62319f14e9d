package e2e

import "github.com/dittofs/dittofs-operator/test/harness/fileclients"

// The NFS and SMB clients of the tests that read and write files on the real
// dfs (test/harness/fileclients, shared with test/fileserving).
var (
	nfsWrite = fileclients.NFSWrite
	smbRead  = fileclients.SMBRead
)
