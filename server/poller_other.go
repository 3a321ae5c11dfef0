//go:build !linux

package server

import "errors"

// poller is Linux-only (epoll). Elsewhere newPoller fails and every
// connection gets a reading goroutine.
type poller struct{}

func newPoller(func(*conn)) (*poller, error) { return nil, errors.ErrUnsupported }

func (*poller) add(*conn) error { return errors.ErrUnsupported }
func (*poller) arm(*conn) error { return errors.ErrUnsupported }
func (*poller) remove(*conn)    {}
func (*poller) close() error    { return nil }
