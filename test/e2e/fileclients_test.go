package e2e

// NFS and SMB clients of the tests that read and write files on the real dfs
// (the same calls as test/fileserving's).

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hirochachacha/go-smb2"
	"github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"
)

// nfsWrite writes data to name in export over NFSv3 as uid/gid (AUTH_UNIX),
// asking MOUNT on the NFS port itself; Close commits.
func nfsWrite(port int, export, name string, data []byte, uid, gid uint32) error {
	client, err := nfs.DialServiceAtPort("127.0.0.1", port)
	if err != nil {
		return fmt.Errorf("dial NFS port %d: %w", port, err)
	}
	defer client.Close()
	mount := &nfs.Mount{Client: client}
	target, err := mount.Mount(export, rpc.NewAuthUnix("e2e", uid, gid).Auth())
	if err != nil {
		return fmt.Errorf("mount %s: %w", export, err)
	}
	defer func() { _ = mount.Unmount() }()
	f, err := target.OpenFile(name, 0o644)
	if err != nil {
		return fmt.Errorf("create %s in %s as uid %d: %w", name, export, uid, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	return nil
}

// smbRead logs in over SMB2/3 as user (NTLM) and reads name from the share
// (the export name without its leading slash).
func smbRead(port int, export, name, user, password string) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("dial SMB port %d: %w", port, err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	d := &smb2.Dialer{Initiator: &smb2.NTLMInitiator{User: user, Password: password}}
	session, err := d.Dial(conn)
	if err != nil {
		return nil, fmt.Errorf("SMB session as %s: %w", user, err)
	}
	defer func() { _ = session.Logoff() }()
	share, err := session.Mount(strings.TrimPrefix(export, "/"))
	if err != nil {
		return nil, fmt.Errorf("SMB tree connect %s as %s: %w", export, user, err)
	}
	defer func() { _ = share.Umount() }()
	return share.ReadFile(name)
}
