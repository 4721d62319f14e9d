package proc

import (
	"net"
	"strconv"
	"time"
)

// WaitTCP dials 127.0.0.1:port every 100ms until a connection is accepted
// or timeout passes; it returns the last dial error then. A child that
// listens is serving: readiness without a health endpoint.
func WaitTCP(port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
