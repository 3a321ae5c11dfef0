package wire

import (
	"strings"
	"testing"

	"github.com/actorchat/chat/proto/chatpb"
)

// benchMsg is a typical public message: short names, a sentence of text.
func benchMsg() *chatpb.Message {
	return &chatpb.Message{Id: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", Kind: chatpb.Kind_KIND_PUBLIC,
		From: "alice", Text: "Hello everyone, how is the \"new\" release going? 🚀", TsUnixMs: ts0}
}

// BenchmarkAppendMessage is the once-per-fan-out encoding of a public
// message; it must not allocate when the buffer has room.
func BenchmarkAppendMessage(b *testing.B) {
	m := benchMsg()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], m, false)
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
		buf = AppendMessage(buf[:0], m, false)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendEventSent is the receipt every sender gets.
func BenchmarkAppendEventSent(b *testing.B) {
	ev := &chatpb.Sent{Ref: strp("42"), Id: "01JD8Z3K4M5N6P7Q8R9S0T1V2W", TsUnixMs: ts0, Queued: true}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendEvent(buf[:0], ev)
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
