package wire

import (
	"strings"
	"testing"
)

// benchMsg is a typical public message: short names, a sentence of text.
func benchMsg() *Message {
	return &Message{ID: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", Kind: KindPublic,
		From: "alice", Text: "Hello everyone, how is the \"new\" release going? 🚀", TS: ts0}
}

// BenchmarkAppendMessage is the once-per-fan-out encoding of a public
// message; it must not allocate when the buffer has room.
func BenchmarkAppendMessage(b *testing.B) {
	m := benchMsg()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendTo(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendMessageLongText renders a 4 KiB text with some escapes.
func BenchmarkAppendMessageLongText(b *testing.B) {
	m := benchMsg()
	m.Text = strings.Repeat("line of text, \"quoted\"\n", 4096/24)
	buf := make([]byte, 0, 8192)
	b.ReportAllocs()
	for b.Loop() {
		buf = m.AppendTo(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendSent is the receipt every sender gets.
func BenchmarkAppendSent(b *testing.B) {
	ev := &Sent{Ref: strp("42"), ID: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", TS: ts0, Queued: true}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendTo(buf[:0])
	}
}

// BenchmarkDecodeSay is a JSON say request with a ref and a key.
func BenchmarkDecodeSay(b *testing.B) {
	frame := []byte(`{"type":"say","text":"Hello everyone, how is the release going?","ref":"42","key":"c-17"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_ = Decode(frame, Limits{})
	}
}

// BenchmarkDecodeDm is a JSON dm request.
func BenchmarkDecodeDm(b *testing.B) {
	frame := []byte(`{"type":"dm","to":"bob","text":"see you at 5","ref":"43"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_ = Decode(frame, Limits{})
	}
}

// BenchmarkDecodeLine is a plain-text chat line.
func BenchmarkDecodeLine(b *testing.B) {
	frame := []byte("Hello everyone, how is the release going?\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(frame)))
	for b.Loop() {
		_ = Decode(frame, Limits{})
	}
}
