package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// Seed corpora live in testdata/fuzz/<FuzzName>/; `go test` runs them as
// regression cases, `go test -fuzz` grows from them.

// FuzzDecode checks that Decode accepts any bytes and keeps its contract: one
// of the listed request types, never nil, refusals with a protocol code and a
// message, accepted requests that obey the protocol's rules, and agreement
// with encoding/json on what is valid JSON and what a text is.
func FuzzDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, frame []byte) {
		got := Decode(frame, Limits{})
		checkRequest(t, frame, got)
		if again := Decode(frame, Limits{}); describe(again) != describe(got) {
			t.Fatalf("Decode is not deterministic: %s then %s", describe(got), describe(again))
		}
		if startsWithBrace(frame) {
			checkAgainstEncodingJSON(t, frame, got)
		}
	})
}

// checkRequest checks one decoded request against the protocol's rules.
func checkRequest(t *testing.T, frame []byte, got Request) {
	t.Helper()
	if isNilRequest(got) {
		t.Fatalf("Decode(%q) returned a nil %T", frame, got)
	}
	switch r := got.(type) {
	case *Say:
		checkAccepted(t, frame, r.Text, r.Ref, r.Key)
	case *Dm:
		checkAccepted(t, frame, r.Text, r.Ref, r.Key)
		if folded, ok := FoldName(r.To); !ok || folded != r.To {
			t.Fatalf("Decode(%q): dm to %q is not a folded name", frame, r.To)
		}
	case *Who:
		checkAccepted(t, frame, "x", r.Ref, "")
	case *History:
		checkAccepted(t, frame, "x", r.Ref, "")
		if r.Limit < 1 || r.Limit > MaxHistoryLimit {
			t.Fatalf("Decode(%q): history limit %d", frame, r.Limit)
		}
	case *DebugPanic:
	case *Invalid:
		checkInvalid(t, frame, r)
	default:
		t.Fatalf("Decode(%q) returned %T", frame, got)
	}
}

// isNilRequest reports whether r is nil or a nil pointer of a request type.
func isNilRequest(r Request) bool {
	switch r := r.(type) {
	case *Say:
		return r == nil
	case *Dm:
		return r == nil
	case *Who:
		return r == nil
	case *History:
		return r == nil
	case *DebugPanic:
		return r == nil
	case *Invalid:
		return r == nil
	}
	return r == nil
}

// checkInvalid checks a refusal: a message, and a code the decoder may give.
func checkInvalid(t *testing.T, frame []byte, r *Invalid) {
	t.Helper()
	if r.Message == "" || !utf8.ValidString(r.Message) {
		t.Fatalf("Decode(%q) = %v: without a UTF-8 message", frame, r)
	}
	switch r.Code {
	case CodeBadRequest, CodeUnknownCommand, CodeInvalidText, CodeUnknownUser:
	default:
		t.Fatalf("Decode(%q): Invalid with code %q", frame, r.Code)
	}
}

// checkAccepted checks the fields every accepted request shares.
func checkAccepted(t *testing.T, frame []byte, text string, ref *string, key string) {
	t.Helper()
	if ref != nil && utf8.RuneCountInString(*ref) > MaxRefLen {
		t.Fatalf("Decode(%q) accepted ref %q", frame, *ref)
	}
	if _, ok := CheckText(text, 0); !ok {
		t.Fatalf("Decode(%q) accepted text %q", frame, text)
	}
	if utf8.RuneCountInString(key) > MaxKeyLen {
		t.Fatalf("Decode(%q) accepted key %q", frame, key)
	}
}

// checkAgainstEncodingJSON compares a '{' frame's fate with encoding/json's
// reading of it (only for UTF-8 frames, which is all the server passes on).
func checkAgainstEncodingJSON(t *testing.T, frame []byte, got Request) {
	t.Helper()
	if !utf8.Valid(frame) {
		return
	}
	_, reason := parseRequest(frame)
	fields, stdErr := stdDecode(frame)
	switch {
	case stdErr != nil && reason == "":
		t.Fatalf("parseRequest accepted %q, encoding/json: %v", frame, stdErr)
	case stdErr == nil && reason != "" && reason != reasonTooDeep:
		t.Fatalf("parseRequest refused %q (%s), encoding/json accepted it", frame, reason)
	}
	if say, ok := got.(*Say); ok && fields["text"] != say.Text {
		t.Fatalf("text of %q: Decode %q, encoding/json %q", frame, say.Text, fields["text"])
	}
	if dm, ok := got.(*Dm); ok && fields["text"] != dm.Text {
		t.Fatalf("text of %q: Decode %q, encoding/json %q", frame, dm.Text, fields["text"])
	}
}

// stdDecode is encoding/json's verdict on a frame: one JSON object and
// nothing after it. Numbers are kept as text, as JSON has them: 1e700 is a
// valid number that no float64 holds.
func stdDecode(frame []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(frame))
	dec.UseNumber()
	var fields map[string]any
	if err := dec.Decode(&fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, errors.New("null, not an object")
	}
	if err := dec.Decode(new(any)); err != io.EOF {
		return nil, fmt.Errorf("more after the object (%v)", err)
	}
	return fields, nil
}

// FuzzAppendMessage checks that any message renders to valid UTF-8 JSON with
// exactly the protocol's fields, and that every UTF-8 string in it, text
// above all, comes back exactly through encoding/json and ParseServerFrame.
func FuzzAppendMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, id, from, to, text string, ts int64, dm, offline, redelivered bool) {
		// Keep to RFC 3339's four-digit years, 0001 to 9999.
		const minTS, maxTS = -62135596800000, 253402300799999
		if ts < minTS || ts > maxTS {
			ts = minTS + (ts%maxTS+maxTS)%(maxTS-minTS)
		}
		m := Message{ID: id, From: from, To: to, Text: text, TS: ts, Offline: offline, Redelivered: redelivered}
		if dm {
			m.Kind = KindDM
		}
		out := m.AppendTo(nil)
		if !utf8.Valid(out) {
			t.Fatalf("frame is not UTF-8: %q", out)
		}
		var fields map[string]any
		if err := json.Unmarshal(out, &fields); err != nil {
			t.Fatalf("frame is not JSON: %v: %q", err, out)
		}
		want := map[string]any{"type": "message", "id": id, "kind": "public", "from": from, "text": text, "ts": FormatTS(ts)}
		if dm {
			want["kind"], want["to"] = "dm", to
		}
		if offline {
			want["offline"] = true
		}
		if redelivered {
			want["redelivered"] = true
		}
		checkFields(t, out, fields, want)
		if sf, err := ParseServerFrame(out); err != nil || sf.Text != fields["text"] || sf.ID != fields["id"] {
			t.Fatalf("ParseServerFrame(%q) = %+v, %v", out, sf, err)
		} else if tm, err := sf.Time(); err != nil || tm.UnixMilli() != ts {
			t.Fatalf("ts %d came back as %v, %v", ts, tm, err)
		}
	})
}

// checkFields compares a decoded frame with the expected fields. A string
// that is not UTF-8 comes back with U+FFFD for each bad byte, which is what
// Go's own string-to-runes conversion does.
func checkFields(t *testing.T, out []byte, got, want map[string]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("frame %q has fields %v, want %v", out, got, want)
	}
	for k, w := range want {
		if s, ok := w.(string); ok {
			w = string([]rune(s))
		}
		if got[k] != w {
			t.Fatalf("field %q of %q: got %q, want %q", k, out, got[k], w)
		}
	}
}

// FuzzSayText checks that any valid text reaches the user actor exactly as
// sent, whichever way the client sends it: JSON escaped by encoding/json,
// by ClientFrame, or as a plain-text line.
func FuzzSayText(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		_, textOK := CheckText(text, 0)
		viaJSON, _ := json.Marshal(map[string]string{"type": "say", "text": text})
		frames := [][]byte{viaJSON, ClientFrame{Type: "say", Text: text}.Encode()}
		if isPlainSay(text) {
			frames = append(frames, []byte(text), []byte(text+"\n"), []byte(text+"\r\n"))
		}
		for _, frame := range frames {
			got := Decode(frame, Limits{})
			if say, ok := got.(*Say); textOK && (!ok || say.Text != text) {
				t.Fatalf("Decode(%q) = %s, want text %q", frame, describe(got), text)
			}
			if inv, ok := got.(*Invalid); !textOK && (!ok || inv.Code != CodeInvalidText) {
				t.Fatalf("Decode(%q) = %s, want invalid_text", frame, describe(got))
			}
		}
	})
}

// isPlainSay reports whether text, sent as a line, is a plain public message
// whose trailing newline handling cannot change it.
func isPlainSay(text string) bool {
	return !strings.HasPrefix(text, "/") && !startsWithBrace([]byte(text)) &&
		!strings.HasSuffix(text, "\n") && !strings.HasSuffix(text, "\r")
}
