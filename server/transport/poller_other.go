//go:build !linux

package transport

import "errors"

// poller is Linux-only (epoll). Elsewhere newPoller fails and every
// connection gets a reading goroutine.
type poller struct{}

func newPoller(func(*Conn)) (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) add(*Conn) error { return errors.ErrUnsupported }
func (*poller) remove(*Conn)    {}
func (*poller) close() error    { return nil }
