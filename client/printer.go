package client

import (
	"io"
	"strings"
	"sync"
)

// printer writes events to the user interface's output, one line per
// Write, formatted or (in JSON mode) as the raw frames. Its methods may be
// called from any goroutine: the client's Run goroutine prints events, the
// interface's own goroutine prints help and local errors.
type printer struct {
	// Set at construction.
	format  Formatter
	json    bool
	out     io.Writer // frames and, in text mode, everything else
	notices io.Writer // local notices and errors in JSON mode

	mu sync.Mutex // serializes writes, so lines never interleave
}

// newPrinter returns a printer for cfg (with defaults applied) writing to
// out, with colors when color is set and cfg is not in JSON mode.
func newPrinter(cfg Config, out io.Writer, color bool) *printer {
	p := &printer{
		format:  Formatter{User: cfg.User, Now: cfg.Now, Location: cfg.Location, Color: color && !cfg.JSON},
		json:    cfg.JSON,
		out:     out,
		notices: out,
	}
	if cfg.JSON {
		p.notices = cfg.Notices
	}
	return p
}

// event prints one event.
func (p *printer) event(ev Event) {
	switch {
	case ev.Frame.Type == "":
		p.write(p.notices, p.format.Notice(ev.Notice))
	case p.json:
		p.write(p.out, string(ev.Raw))
	default:
		for _, line := range p.format.Event(ev) {
			p.write(p.out, line)
		}
	}
}

// localError prints an error found on this side, such as a mistyped
// command.
func (p *printer) localError(text string) {
	p.write(p.notices, p.format.LocalError(text))
}

// notice prints a local notice.
func (p *printer) notice(text string) {
	p.write(p.notices, p.format.Notice(text))
}

// help prints the command list.
func (p *printer) help() {
	p.write(p.notices, HelpText)
}

// write writes text and a newline in one Write, so that a line editor
// redraws its prompt once per line.
func (p *printer) write(w io.Writer, text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, _ = io.WriteString(w, strings.TrimSuffix(text, "\n")+"\n")
}
