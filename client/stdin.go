package client

import (
	"io"
	"sync"
)

// inputPump is the only reader of a terminal's input. The line editor and
// the password dialogs take turns at it through views: closing a view ends
// its pending Read at once, and what the pump has read but no view has
// taken waits for the next view, so that no keystroke goes to a reader
// that has stopped listening. (readline's own cancelable reader leaves its
// read of standard input pending when it is closed, and that read would
// swallow the next line typed: a password, say.)
//
// The pump's goroutine reads as long as the input lasts or until stop; a
// read already pending on the input when it stops returns only when input
// arrives, which is the one pending read this design allows.
type inputPump struct {
	chunks chan []byte   // read from the input, not yet taken; unbuffered
	done   chan struct{} // closed once the input has failed or ended
	stop   chan struct{} // closed by close: the pump hands out nothing more

	mu       sync.Mutex
	rest     []byte // the part of a chunk no Read had room for, oldest first
	err      error  // the input's error, once done is closed
	stopOnce sync.Once
}

// newInputPump starts pumping r.
func newInputPump(r io.Reader) *inputPump {
	p := &inputPump{chunks: make(chan []byte), done: make(chan struct{}), stop: make(chan struct{})}
	go p.run(r)
	return p
}

// run reads r until it fails, handing each chunk to a view.
func (p *inputPump) run(r io.Reader) {
	for {
		buf := make([]byte, 1024)
		n, err := r.Read(buf)
		if n > 0 {
			select {
			case p.chunks <- buf[:n]:
			case <-p.stop:
				return
			}
		}
		if err != nil {
			p.mu.Lock()
			p.err = err
			p.mu.Unlock()
			close(p.done)
			return
		}
	}
}

// close stops handing out input.
func (p *inputPump) close() {
	p.stopOnce.Do(func() { close(p.stop) })
}

// view returns a new reader of the input.
func (p *inputPump) view() *pumpView {
	return &pumpView{p: p, closed: make(chan struct{})}
}

// pumpView is one turn at the input: an io.ReadCloser whose Close ends a
// pending Read with io.EOF. Read and Close may be called from different
// goroutines.
type pumpView struct {
	p      *inputPump
	closed chan struct{}
	once   sync.Once
}

// Read returns input left over from an earlier chunk, or the next chunk.
func (v *pumpView) Read(b []byte) (int, error) {
	if v.isClosed() {
		return 0, io.EOF
	}
	if n := v.p.take(b, nil, v); n > 0 {
		return n, nil
	}
	select {
	case chunk := <-v.p.chunks:
		if n := v.p.take(b, chunk, v); n > 0 {
			return n, nil
		}
		return 0, io.EOF // closed meanwhile: the chunk waits for the next view
	case <-v.closed:
		return 0, io.EOF
	case <-v.p.done:
		return 0, v.p.inputErr()
	}
}

// Close ends the view's pending and future Reads.
func (v *pumpView) Close() error {
	v.once.Do(func() { close(v.closed) })
	return nil
}

// isClosed reports whether Close has been called.
func (v *pumpView) isClosed() bool {
	select {
	case <-v.closed:
		return true
	default:
		return false
	}
}

// take adds chunk (when not nil) after what is left over and copies as
// much as fits into b for v, keeping the rest; it copies nothing when v
// has been closed, so that the input waits for the next view.
func (p *inputPump) take(b, chunk []byte, v *pumpView) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rest = append(p.rest, chunk...)
	if v.isClosed() {
		return 0
	}
	n := copy(b, p.rest)
	p.rest = p.rest[n:]
	return n
}

// inputErr is the input's error; io.EOF when it simply ended.
func (p *inputPump) inputErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err == nil {
		return io.EOF
	}
	return p.err
}
