// Package fileclients holds the NFSv3 and SMB clients the tests use to
// write and read files on a real dfs listening on loopback.
package fileclients

import (
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/hirochachacha/go-smb2"
	"github.com/willscott/go-nfs-client/nfs"
	"github.com/willscott/go-nfs-client/nfs/rpc"
)

// NFSWrite writes data to name in export over NFSv3 as uid/gid (AUTH_UNIX).
// The MOUNT protocol is asked on the NFS port itself: dfs serves both there,
// so no portmapper is involved. Writes are FILE_SYNC and Close commits.
func NFSWrite(port int, export, name string, data []byte, uid, gid uint32) error {
	client, err := nfs.DialServiceAtPort("127.0.0.1", port)
	if err != nil {
		return fmt.Errorf("dial NFS port %d: %w", port, err)
	}
	defer client.Close()
	mount := &nfs.Mount{Client: client} // no Addr: the target reuses this connection
	target, err := mount.Mount(export, rpc.NewAuthUnix("dittofs-tests", uid, gid).Auth())
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

// NFSRead reads name from export over NFSv3 as uid/gid.
func NFSRead(port int, export, name string, uid, gid uint32) ([]byte, error) {
	client, err := nfs.DialServiceAtPort("127.0.0.1", port)
	if err != nil {
		return nil, fmt.Errorf("dial NFS port %d: %w", port, err)
	}
	defer client.Close()
	mount := &nfs.Mount{Client: client}
	target, err := mount.Mount(export, rpc.NewAuthUnix("dittofs-tests", uid, gid).Auth())
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", export, err)
	}
	defer func() { _ = mount.Unmount() }()
	f, err := target.Open(name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return io.ReadAll(f)
}

// SMBRead logs in over SMB2/3 as user (NTLM) and reads name from the share
// (the export name without its leading slash).
func SMBRead(port int, export, name, user, password string) ([]byte, error) {
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
