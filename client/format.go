package client

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/actorchat/chat/proto/wire"
)

// ANSI SGR sequences used when Formatter.Color is set.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
	ansiGray    = "\x1b[90m"
)

// Formatter renders events as display lines. It is a pure value: the same
// event, clock and zone give the same lines.
type Formatter struct {
	// User is our own name, so that our own messages can be told apart.
	User string
	// Now tells what day it is: a timestamp from another day shows its date.
	// Nil means time.Now.
	Now func() time.Time
	// Location is the zone timestamps are shown in. Nil means time.Local.
	Location *time.Location
	// Color adds ANSI colors, for a terminal.
	Color bool
}

// Event returns the lines to show for ev, none when it shows nothing (a
// receipt for a public message, which shows when its copy arrives, or a
// frame type this client does not know).
func (f Formatter) Event(ev Event) []string {
	if ev.Frame.Type == "" {
		return []string{f.Notice(ev.Notice)}
	}
	fr := ev.Frame
	switch fr.Type {
	case "message":
		return []string{f.message(fr, false)}
	case "history":
		return f.history(ev.Fresh)
	case "welcome":
		return []string{f.welcome(fr, ev.Reconnect)}
	case "users":
		return []string{f.users(fr)}
	case "presence":
		return []string{f.presence(fr)}
	case "sent":
		return f.sent(fr, ev.Request)
	case "error":
		return f.serverError(fr, ev.Request)
	}
	return nil
}

// Notice renders a local notice about the connection.
func (f Formatter) Notice(text string) string {
	return f.stamp(f.now()) + f.paint(ansiCyan, "*** "+text)
}

// LocalError renders an error found on this side, such as a mistyped
// command, that was never sent.
func (f Formatter) LocalError(text string) string {
	return f.stamp(f.now()) + f.paint(ansiRed, "*** "+text)
}

// message renders a public or private message, live or from history.
func (f Formatter) message(m wire.ServerFrame, history bool) string {
	var b strings.Builder
	b.WriteString(f.stamp(f.frameTime(m)))
	if history {
		b.WriteString(f.paint(ansiDim, "[history] "))
	}
	if m.Kind == "dm" {
		b.WriteString(f.paint(ansiBold+ansiMagenta, "[dm from "+m.From+"]"))
	} else {
		b.WriteString(f.sender(m.From))
	}
	b.WriteString(" " + f.text(m.Text, history))
	if m.Offline {
		b.WriteString(f.paint(ansiYellow, "  (sent while you were offline)"))
	}
	if m.Redelivered {
		b.WriteString(f.paint(ansiYellow, "  (redelivered)"))
	}
	return b.String()
}

// sender renders the author of a public message, ours in another color.
func (f Formatter) sender(name string) string {
	color := ansiBold + ansiCyan
	if name == f.User {
		color = ansiBold + ansiGreen
	}
	return f.paint(color, "<"+name+">")
}

// text renders message text: control characters (which could move the
// cursor or recolor the terminal) are shown escaped, and history is dimmed.
func (f Formatter) text(s string, history bool) string {
	s = escapeControls(s)
	if history {
		return f.paint(ansiDim, s)
	}
	return s
}

// history renders the messages of a history answer not shown before.
func (f Formatter) history(msgs []wire.ServerFrame) []string {
	lines := make([]string, 0, len(msgs))
	for _, m := range msgs {
		lines = append(lines, f.message(m, true))
	}
	return lines
}

// welcome renders the first frame of a connection.
func (f Formatter) welcome(w wire.ServerFrame, reconnect bool) string {
	verb := "connected"
	if reconnect {
		verb = "reconnected"
	}
	return f.system(w, fmt.Sprintf("%s as %s; %s", verb, w.User, onlineList(w.Users, w.Online, 20)))
}

// users renders the answer to /who.
func (f Formatter) users(u wire.ServerFrame) string {
	line := onlineList(u.Users, u.Online, len(u.Users))
	if n := len(u.Users); n > 0 && n < u.Online {
		line += fmt.Sprintf(" (more may follow: /who %s)", u.Users[n-1])
	}
	return f.system(u, line)
}

// onlineList renders "N online: a, b, c", naming at most max of names.
func onlineList(names []string, online, max int) string {
	if online < len(names) {
		online = len(names)
	}
	if len(names) > max {
		return fmt.Sprintf("%d online: %s, ...", online, strings.Join(names[:max], ", "))
	}
	return fmt.Sprintf("%d online: %s", online, strings.Join(names, ", "))
}

// presence renders a user coming or going.
func (f Formatter) presence(p wire.ServerFrame) string {
	if p.IsOnline {
		return f.system(p, p.User+" joined")
	}
	return f.system(p, p.User+" left")
}

// sent renders the receipt for a private message as the message itself, since
// the sender gets no copy of it; a public message shows when its copy arrives.
func (f Formatter) sent(s wire.ServerFrame, req *Request) []string {
	if req == nil || req.Command.Kind != CmdDM {
		return nil
	}
	var b strings.Builder
	b.WriteString(f.stamp(f.frameTime(s)))
	b.WriteString(f.paint(ansiBold+ansiMagenta, "[dm to "+req.Command.To+"]"))
	b.WriteString(" " + escapeControls(req.Command.Text))
	if s.Queued {
		b.WriteString(f.paint(ansiYellow, "  (queued: "+req.Command.To+" is offline)"))
	}
	return []string{b.String()}
}

// serverError renders a refused request, naming what was not sent. A
// session takeover is left to the client's own notice, which says what
// happens next.
func (f Formatter) serverError(e wire.ServerFrame, req *Request) []string {
	if e.Code == wire.CodeSessionReplaced {
		return nil
	}
	line := fmt.Sprintf("*** error [%s] %s", e.Code, escapeControls(e.Message))
	if req != nil && (req.Command.Kind == CmdSay || req.Command.Kind == CmdDM) {
		line += fmt.Sprintf(" -- not sent: %q", abbreviate(req.Command.Text, 40))
	}
	return []string{f.stamp(f.now()) + f.paint(ansiRed, line)}
}

// system renders a "***" line stamped with the frame's time, or now when
// the frame has none.
func (f Formatter) system(fr wire.ServerFrame, text string) string {
	t := f.now()
	if fr.TS != "" {
		t = f.frameTime(fr)
	}
	return f.stamp(t) + f.paint(ansiYellow, "*** "+text)
}

// frameTime is the frame's server timestamp; the zero time when it has none
// or it does not parse, which stamp shows as unknown.
func (f Formatter) frameTime(fr wire.ServerFrame) time.Time {
	t, err := fr.Time()
	if err != nil {
		return time.Time{}
	}
	return t
}

// stamp renders t in the display zone as "15:04:05 ", with the date in
// front when t is not today there.
func (f Formatter) stamp(t time.Time) string {
	if t.IsZero() {
		return f.paint(ansiGray, "--:--:--") + " "
	}
	loc := f.Location
	if loc == nil {
		loc = time.Local
	}
	t = t.In(loc)
	ny, nm, nd := f.now().In(loc).Date()
	y, m, d := t.Date()
	layout := "15:04:05"
	if y != ny || m != nm || d != nd {
		layout = "2006-01-02 15:04:05"
	}
	return f.paint(ansiGray, t.Format(layout)) + " "
}

// now is the injected clock's time.
func (f Formatter) now() time.Time {
	if f.Now == nil {
		return time.Now()
	}
	return f.Now()
}

// paint wraps s in an ANSI color when colors are on.
func (f Formatter) paint(code, s string) string {
	if !f.Color {
		return s
	}
	return code + s + ansiReset
}

// escapeControls replaces control characters other than tab with their Go
// escape (a newline becomes `\n`), so that one message stays one line and
// cannot send escape sequences to the terminal.
func escapeControls(s string) string {
	if strings.IndexFunc(s, isEscaped) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isEscaped(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isEscaped reports whether r is shown escaped: control characters except
// tab, and the bidirectional embeddings, overrides and isolates that could
// make a line read backwards. Other format characters, such as the
// zero-width joiner inside emoji, pass.
func isEscaped(r rune) bool {
	switch {
	case r == '\t':
		return false
	case unicode.IsControl(r):
		return true
	}
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// abbreviate shortens s to at most n runes, marking the cut.
func abbreviate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-3]) + "..."
}
