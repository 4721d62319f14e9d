package dfsapi

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// DrainUploads asks the server to upload every block still waiting for its
// remote block store (POST /api/v1/system/drain-uploads) and waits until it
// has, at most timeout: the server answers when the queue is empty, or 504
// when uploads make no progress for five minutes. Without it blocks are
// uploaded about ten seconds after they are written.
func (c *Client) DrainUploads(ctx context.Context, timeout time.Duration) error {
	if err := c.do(ctx, request{method: http.MethodPost, path: "/api/v1/system/drain-uploads", timeout: timeout}); err != nil {
		return fmt.Errorf("drain uploads: %w", err)
	}
	return nil
}
