package client

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/chzyer/readline"
	"golang.org/x/term"
)

// errAsked interrupts the line editor because a dialog waits.
var errAsked = errors.New("a dialog waits for the terminal")

// errConsoleClosed answers a dialog asked for after the terminal's reader
// has stopped.
var errConsoleClosed = errors.New("the terminal is closed")

// historyLimit is how many typed lines the editor remembers.
const historyLimit = 1000

// console is the terminal while RunTerminal runs: a line editor for the
// chat, and dialogs (Ask: sign-in, /passwd) that pause it. A dialog closes
// the editor, reads the answers without echo through golang.org/x/term in
// raw mode, and the editor opens again afterwards with its history; what
// the chat prints meanwhile is held and shown after the dialog.
//
// One goroutine, the reader (read), owns the editor and runs the dialogs,
// so only it ever reads the terminal; every read goes through one
// inputPump. Ask may be called from any other goroutine: it queues the
// dialog, interrupts the editor by closing its input view, and waits. mu
// guards the queue and the view.
type console struct {
	// Set at construction.
	in, out *os.File
	pump    *inputPump
	prompt  string
	screen  *heldWriter   // the chat's lines: to the editor, or held
	notices *heldWriter   // notices in JSON mode: to the editor's stderr, or held
	wake    chan struct{} // capacity 1: a dialog has been queued
	closed  chan struct{} // closed when the reader has stopped

	// Owned by the reader goroutine.
	rl      *readline.Instance // nil while closed
	history []string           // typed lines, oldest first, for the next editor
	typed   string             // the line being typed when a dialog came, for the next editor

	mu       sync.Mutex
	view     *pumpView // the editor's input; closing it interrupts the editor
	asks     []*ask    // dialogs waiting, oldest first
	stopping bool      // stopReading was called: open no editor again
}

// ask is one dialog waiting for the terminal.
type ask struct {
	ctx  context.Context
	run  func(Prompter) error
	done chan error // capacity 1: the dialog's result
}

// newConsole returns a console on the terminal in and out.
func newConsole(in, out *os.File, prompt string) *console {
	return &console{
		in: in, out: out, pump: newInputPump(in), prompt: prompt,
		screen: &heldWriter{}, notices: &heldWriter{},
		wake: make(chan struct{}, 1), closed: make(chan struct{}),
	}
}

// Ask runs dialog at the terminal, pausing the editor, and returns its
// result; ctx's error if ctx ends first (the dialog's input ends then too).
func (c *console) Ask(ctx context.Context, dialog func(Prompter) error) error {
	a := &ask{ctx: ctx, run: dialog, done: make(chan error, 1)}
	c.mu.Lock()
	c.asks = append(c.asks, a)
	if c.view != nil {
		_ = c.view.Close()
	}
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-a.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return errConsoleClosed
	}
}

// read hands the lines the user enters to lines until Ctrl-D, Ctrl-C on an
// empty line, or stop; Ctrl-C on a line being typed just drops that line.
// Between lines it runs the dialogs asked for. The editor opens only once
// ready is closed (the first sign-in has an outcome): until then what is
// typed waits in the input, for the password prompt if one comes, so that
// a password typed ahead of its prompt never becomes a chat line. It
// closes lines and the editor when it returns.
func (c *console) read(lines chan<- string, ready, stop <-chan struct{}) {
	defer close(lines)
	defer c.shut()
	if !c.awaitReady(ready, stop) {
		return
	}
	for {
		line, err := c.readLine()
		switch {
		case errors.Is(err, errAsked):
			c.runAsks()
			continue
		case errors.Is(err, readline.ErrInterrupt) && line != "":
			continue
		case err != nil:
			return
		}
		if !c.deliver(lines, line, stop) {
			return
		}
	}
}

// awaitReady runs the dialogs asked for until ready is closed. It reports
// false when stop came first.
func (c *console) awaitReady(ready, stop <-chan struct{}) bool {
	for {
		select {
		case <-ready:
			return true
		case <-c.wake:
			c.runAsks()
		case <-stop:
			return false
		}
	}
}

// deliver hands line over, running dialogs asked for meanwhile. It
// reports false when stop came first.
func (c *console) deliver(lines chan<- string, line string, stop <-chan struct{}) bool {
	for {
		select {
		case lines <- line:
			return true
		case <-c.wake:
			c.runAsks()
		case <-stop:
			return false
		}
	}
}

// stopReading ends the editor's pending read and keeps a new one from
// opening, so that the reader returns.
func (c *console) stopReading() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	if c.view != nil {
		_ = c.view.Close()
	}
}

// readLine reads one line with the editor, opening it if it is closed. It
// returns errAsked when a dialog waits.
func (c *console) readLine() (string, error) {
	if c.rl == nil {
		if err := c.openEditor(); err != nil {
			return "", err
		}
	}
	line, err := c.rl.Readline()
	if c.asked() {
		// readline submits what was being typed when its input ends; it
		// goes back into the next editor rather than out half-typed.
		if err == nil {
			c.typed = line
		}
		return "", errAsked
	}
	if err == nil {
		c.remember(line)
	}
	return line, err
}

// remember adds a typed line to the history kept across editors.
func (c *console) remember(line string) {
	c.history = append(c.history, line)
	if len(c.history) > historyLimit {
		c.history = c.history[1:]
	}
}

// asked reports whether a dialog waits.
func (c *console) asked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.asks) > 0
}

// openEditor opens a line editor on a new view of the input, unless a
// dialog waits (errAsked).
func (c *console) openEditor() error {
	c.mu.Lock()
	switch {
	case c.stopping:
		c.mu.Unlock()
		return io.EOF
	case len(c.asks) > 0:
		c.mu.Unlock()
		return errAsked
	}
	view := c.pump.view()
	c.view = view
	c.mu.Unlock()
	rl, err := readline.NewEx(c.editorConfig(view))
	if err != nil {
		return err
	}
	for _, line := range c.history {
		_ = rl.SaveHistory(line)
	}
	if c.typed != "" {
		_, _ = rl.WriteStdin([]byte(c.typed))
		c.typed = ""
	}
	c.rl = rl
	c.screen.setTarget(rl.Stdout())
	c.notices.setTarget(rl.Stderr())
	return nil
}

// editorConfig configures readline for this console's terminal rather
// than the process's standard input and output.
func (c *console) editorConfig(view io.ReadCloser) *readline.Config {
	raw := &rawMode{fd: fdOf(c.in)}
	return &readline.Config{
		Prompt:          c.prompt,
		HistoryLimit:    historyLimit,
		UniqueEditLine:  true, // the line comes back formatted from the server
		InterruptPrompt: "^C",
		Stdin:           view,
		Stdout:          c.out,
		Stderr:          c.out,
		FuncIsTerminal:  func() bool { return true },
		FuncMakeRaw:     raw.enter,
		FuncExitRaw:     raw.exit,
		FuncGetWidth: func() int {
			if w, _, err := term.GetSize(fdOf(c.out)); err == nil && w > 0 {
				return w
			}
			return 80
		},
	}
}

// closeEditor closes the editor, if open; what the chat prints is held
// until the next one opens.
func (c *console) closeEditor() {
	if c.rl == nil {
		return
	}
	c.screen.setTarget(nil)
	c.notices.setTarget(nil)
	c.mu.Lock()
	_ = c.view.Close()
	c.mu.Unlock()
	_ = c.rl.Close()
	c.rl = nil
}

// runAsks closes the editor and runs every waiting dialog, oldest first.
// (readline v1.5.1 leaves one goroutine of a closed editor blocked for
// good, handing an end of input nobody reads; a run has few dialogs.)
func (c *console) runAsks() {
	c.closeEditor()
	for a := c.nextAsk(); a != nil; a = c.nextAsk() {
		a.done <- c.dialog(a)
	}
}

// nextAsk takes the oldest waiting dialog; nil when none waits.
func (c *console) nextAsk() *ask {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.asks) == 0 {
		return nil
	}
	a := c.asks[0]
	c.asks = c.asks[1:]
	return a
}

// dialog runs one dialog with the terminal in raw mode, reading through a
// view of its own that a.ctx's end closes.
func (c *console) dialog(a *ask) error {
	view := c.pump.view()
	defer func() { _ = view.Close() }()
	stop := context.AfterFunc(a.ctx, func() { _ = view.Close() })
	defer stop()
	fd := fdOf(c.in)
	state, err := term.MakeRaw(fd)
	if err != nil {
		return err
	}
	defer func() { _ = term.Restore(fd, state) }()
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{view, c.out}, "")
	return a.run(termPrompter{t: t})
}

// shut ends the console: no more dialogs, the editor closed, and what was
// held written to the terminal as it is.
func (c *console) shut() {
	close(c.closed)
	c.closeEditor()
	c.pump.close()
	c.screen.setTarget(c.out)
	c.notices.setTarget(c.out)
}

// fdOf is f's file descriptor. Unlike f.Fd, it leaves f's blocking mode
// alone, so that a pollable terminal stays one.
func fdOf(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// termPrompter asks through an x/term terminal in raw mode: it echoes what
// is typed, except passwords, and turns Ctrl-C and Ctrl-D into io.EOF.
type termPrompter struct {
	t *term.Terminal
}

// Password reads a line without echo.
func (p termPrompter) Password(prompt string) (string, error) {
	return p.t.ReadPassword(prompt)
}

// Line reads a line, echoed.
func (p termPrompter) Line(prompt string) (string, error) {
	p.t.SetPrompt(prompt)
	defer p.t.SetPrompt("")
	return p.t.ReadLine()
}

// Say writes one line.
func (p termPrompter) Say(text string) {
	_, _ = p.t.Write([]byte(escapeControls(text) + "\n"))
}

// rawMode puts one terminal in raw mode and back, for readline. Its calls
// may come from readline's goroutines, so mu guards the saved state.
type rawMode struct {
	fd    int
	mu    sync.Mutex
	saved *term.State
}

// enter switches the terminal to raw mode.
func (r *rawMode) enter() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	state, err := term.MakeRaw(r.fd)
	if err == nil {
		r.saved = state
	}
	return err
}

// exit restores the mode enter found.
func (r *rawMode) exit() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.saved == nil {
		return nil
	}
	err := term.Restore(r.fd, r.saved)
	r.saved = nil
	return err
}

// heldWriter writes to a target, or, while it has none (a dialog runs, or
// one editor replaces another), holds what is written and writes it to the
// next target. Safe for concurrent use.
type heldWriter struct {
	mu   sync.Mutex
	to   io.Writer
	held [][]byte
}

// Write writes p to the target, or holds a copy of it.
func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.to == nil {
		h.held = append(h.held, bytes.Clone(p))
		return len(p), nil
	}
	return h.to.Write(p)
}

// setTarget makes w the target (nil: hold), writing what is held to it.
func (h *heldWriter) setTarget(w io.Writer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.to = w
	if w == nil {
		return
	}
	for _, p := range h.held {
		_, _ = w.Write(p)
	}
	h.held = nil
}
