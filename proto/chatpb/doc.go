// Package chatpb holds the Go code generated from proto/chat.proto: the
// messages the server's actors exchange and the record the store keeps.
// Everything but this file is generated; run `make proto` after changing
// chat.proto (`make test` fails while the two disagree).
//
// # Concurrency contract
//
// These are plain protobuf structs. Within one process a message is passed
// by pointer and may reach several receivers at once (a fan-out shares one
// Deliver), so a message is never modified after it is sent: a receiver
// that needs a changed copy clones it.
package chatpb
