package wire

// Request is one decoded client frame: exactly one of *Say, *Dm, *Who,
// *History, *DebugPanic or *Invalid. The set is closed (the method is
// unexported), so a switch over it that handles these six is complete.
type Request interface {
	isRequest()
}

// Say asks for a public message.
type Say struct {
	Text string  // valid UTF-8, not blank, within Limits.MaxText
	Ref  *string // echoed on the reply when not nil, even ""
	Key  string  // idempotency key; "" is none
}

// Dm asks for a private message.
type Dm struct {
	To   string // a valid, folded user name (FoldName)
	Text string
	Ref  *string
	Key  string
}

// Who asks who is online, in pages of names after After.
type Who struct {
	After string // folded like a name, not validated: it only sets where a page starts
	Ref   *string
}

// History asks for recent public messages older than Before.
type History struct {
	Limit  int // 1 to MaxHistoryLimit, DefaultHistoryLimit when the request had none
	Before string
	Ref    *string
}

// DebugPanic is the "/debug panic" command, which a server with fault
// injection enabled answers by crashing the user's actor.
type DebugPanic struct{}

// Invalid is a frame that is none of the requests above; the server
// answers it with an "error" frame.
type Invalid struct {
	Code    ErrorCode // CodeBadRequest, CodeUnknownCommand, CodeInvalidText or CodeUnknownUser
	Message string    // a short human-readable reason, valid UTF-8
	Ref     *string   // set whenever a string ref could be read, even a too long one
	Counts  bool      // a say or a dm: charged to the rate limit before it is refused
}

func (*Say) isRequest()        {}
func (*Dm) isRequest()         {}
func (*Who) isRequest()        {}
func (*History) isRequest()    {}
func (*DebugPanic) isRequest() {}
func (*Invalid) isRequest()    {}
