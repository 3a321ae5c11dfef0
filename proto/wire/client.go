package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ClientFrame is a client-to-server JSON request, for the CLI client, the
// tests and the load tool. Encode (and MarshalJSON, which uses it) writes
// "type" always, "ref" when not nil (even ""), "text" for a say or dm and "to"
// for a dm even when empty (so that a test can send an empty one), and every
// other field only when it is set. A frame the protocol forbids, such as a
// history limit of 0, is written by hand.
type ClientFrame struct {
	Type   string  `json:"type"`
	Text   string  `json:"text"`
	To     string  `json:"to"`
	After  string  `json:"after,omitempty"`
	Limit  int     `json:"limit,omitempty"`
	Before string  `json:"before,omitempty"`
	Ref    *string `json:"ref,omitempty"`
	Key    string  `json:"key,omitempty"`
}

// Encode returns the frame's JSON text.
func (f ClientFrame) Encode() []byte {
	return f.AppendTo(nil)
}

// MarshalJSON returns Encode's output, so that encoding/json writes the same.
func (f ClientFrame) MarshalJSON() ([]byte, error) {
	return f.Encode(), nil
}

// AppendTo appends the frame's JSON text to dst.
func (f ClientFrame) AppendTo(dst []byte) []byte {
	dst = append(dst, `{"type":`...)
	dst = appendString(dst, f.Type)
	dst = appendRef(dst, f.Ref)
	dst = appendStringField(dst, `,"to":`, f.To, f.Type == typeDm)
	dst = appendStringField(dst, `,"text":`, f.Text, f.Type == typeSay || f.Type == typeDm)
	dst = appendStringField(dst, `,"after":`, f.After, false)
	if f.Limit != 0 {
		dst = append(dst, `,"limit":`...)
		dst = strconv.AppendInt(dst, int64(f.Limit), 10)
	}
	dst = appendStringField(dst, `,"before":`, f.Before, false)
	dst = appendStringField(dst, `,"key":`, f.Key, false)
	return append(dst, '}')
}

// appendStringField appends name and s when s is set or always is true.
func appendStringField(dst []byte, name, s string, always bool) []byte {
	if s == "" && !always {
		return dst
	}
	return appendString(append(dst, name...), s)
}

// ServerFrame is any server-to-client frame, loosely decoded: each frame type
// fills the fields it has and leaves the others zero. "online" is a count in
// welcome and users frames (Online) and a boolean in presence frames
// (IsOnline).
type ServerFrame struct {
	Type string  `json:"type"`
	Ref  *string `json:"ref,omitempty"`

	// message (and sent: ID, TS, Queued)
	ID          string `json:"id,omitempty"`
	Kind        string `json:"kind,omitempty"`
	From        string `json:"from,omitempty"`
	To          string `json:"to,omitempty"`
	Text        string `json:"text,omitempty"`
	TS          string `json:"ts,omitempty"`
	Offline     bool   `json:"offline,omitempty"`
	Redelivered bool   `json:"redelivered,omitempty"`
	Queued      bool   `json:"queued,omitempty"`

	// welcome, users, presence
	User     string   `json:"user,omitempty"`
	Users    []string `json:"users,omitempty"`
	Online   int      `json:"online,omitempty"` // count in welcome/users
	IsOnline bool     `json:"-"`                // presence
	MsgRate  float64  `json:"msg_rate,omitempty"`
	MsgBurst int      `json:"msg_burst,omitempty"`

	// error
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`

	// history
	Messages []ServerFrame `json:"messages,omitempty"`
}

// ParseServerFrame decodes one server frame. It fails on text that is not a
// JSON object, on a field of the wrong JSON type and on a frame without
// "type".
func ParseServerFrame(data []byte) (ServerFrame, error) {
	var f ServerFrame
	if err := json.Unmarshal(data, &f); err != nil {
		return ServerFrame{}, fmt.Errorf("wire: server frame: %w", err)
	}
	if f.Type == "" {
		return ServerFrame{}, errors.New(`wire: server frame has no "type"`)
	}
	return f, nil
}

// UnmarshalJSON decodes a server frame, reading "online" as a count or as a
// boolean depending on its JSON type.
func (f *ServerFrame) UnmarshalJSON(data []byte) error {
	type plain ServerFrame // no methods: no recursion into UnmarshalJSON
	aux := struct {
		*plain
		Online json.RawMessage `json:"online"`
	}{plain: (*plain)(f)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	return f.setOnline(aux.Online)
}

// setOnline interprets a raw "online" value.
func (f *ServerFrame) setOnline(raw json.RawMessage) error {
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil
	case bytes.Equal(raw, []byte("true")), bytes.Equal(raw, []byte("false")):
		f.IsOnline = raw[0] == 't'
		return nil
	}
	if err := json.Unmarshal(raw, &f.Online); err != nil {
		return fmt.Errorf(`"online" is neither a count nor a boolean: %w`, err)
	}
	return nil
}

// Time parses the frame's "ts".
func (f ServerFrame) Time() (time.Time, error) {
	return ParseTS(f.TS)
}
