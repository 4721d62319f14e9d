//go:build realdfs

package serverstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ONC RPC (RFC 5531) numbers of a portmap v2 (RFC 1833) GETPORT call.
const (
	rpcCall         = 0
	rpcReply        = 1
	rpcMsgAccepted  = 0
	rpcSuccess      = 0
	pmapProgram     = 100000
	pmapVersion     = 2
	pmapGetport     = 3
	ipprotoTCP      = 6
	ipprotoUDP      = 17
	nfsProgram      = 100003
	mountProgram    = 100005
	rpcTimeout      = 2 * time.Second
	rpcLastFragment = 1 << 31
)

// getport asks the portmapper at addr, over network ("tcp" or "udp"), which
// port serves program/version over TCP; 0 means not registered.
func getport(network, addr string, program, version uint32) (uint32, error) {
	conn, err := net.DialTimeout(network, addr, rpcTimeout)
	if err != nil {
		return 0, err
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(rpcTimeout))

	const xid = 0x5eed
	call := make([]byte, 0, 56)
	for _, v := range []uint32{xid, rpcCall, 2, pmapProgram, pmapVersion, pmapGetport,
		0, 0, // credential AUTH_NONE, no body
		0, 0, // verifier AUTH_NONE, no body
		program, version, ipprotoTCP, 0} {
		call = binary.BigEndian.AppendUint32(call, v)
	}
	var reply []byte
	if network == "tcp" {
		// Record marking: one fragment, flagged last.
		msg := binary.BigEndian.AppendUint32(nil, rpcLastFragment|uint32(len(call)))
		if _, err := conn.Write(append(msg, call...)); err != nil {
			return 0, err
		}
		var mark [4]byte
		if _, err := io.ReadFull(conn, mark[:]); err != nil {
			return 0, err
		}
		reply = make([]byte, binary.BigEndian.Uint32(mark[:])&^rpcLastFragment)
		if _, err := io.ReadFull(conn, reply); err != nil {
			return 0, err
		}
	} else {
		if _, err := conn.Write(call); err != nil {
			return 0, err
		}
		buf := make([]byte, 512)
		n, err := conn.Read(buf)
		if err != nil {
			return 0, err
		}
		reply = buf[:n]
	}
	// xid, REPLY, MSG_ACCEPTED, verifier (flavor, length, body), SUCCESS, port.
	word := func(i int) uint32 { return binary.BigEndian.Uint32(reply[4*i:]) }
	if len(reply) < 24 {
		return 0, fmt.Errorf("short reply of %d bytes", len(reply))
	}
	if word(0) != xid || word(1) != rpcReply || word(2) != rpcMsgAccepted {
		return 0, fmt.Errorf("not an accepted reply to the call: % x", reply)
	}
	verf := int(word(4)+3) / 4
	if len(reply) < 4*(7+verf) {
		return 0, errors.New("reply truncated after the verifier")
	}
	if st := word(5 + verf); st != rpcSuccess {
		return 0, fmt.Errorf("accept status %d", st)
	}
	return word(6 + verf), nil
}
