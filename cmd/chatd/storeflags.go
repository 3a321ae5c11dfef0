package main

import (
	"fmt"

	"github.com/actorchat/chat/actors/store"
)

// storeOptions are the flags that bound what the store keeps for private
// messages waiting for their recipients, kept apart from the others so
// that each block stays whole.
type storeOptions struct {
	maxBytes       int64 // all inboxes together; 0: no cap
	senderMaxBytes int64 // one sender's, in others' inboxes; 0: no cap
}

// Defaults of the caps: a gibibyte of waiting messages in all, which a
// server's disk takes easily, and 16 MiB per sender, 4,000 messages of
// 4 KiB, far more than a person sends to people who are away.
const (
	defaultStoreMaxBytes  = 1 << 30
	defaultSenderMaxBytes = 16 << 20
)

// define registers the flags on e.
func (s *storeOptions) define(e *envFlags) {
	e.int64(&s.maxBytes, "store-max-bytes", defaultStoreMaxBytes,
		"stored bytes of private messages waiting for their recipients, all users together (storage_full past it); 0 is no cap")
	e.int64(&s.senderMaxBytes, "sender-queue-max-bytes", defaultSenderMaxBytes,
		"stored bytes of one sender's private messages that have not reached their recipients yet (queue_full past it); 0 is no cap")
}

func (s storeOptions) validate() error {
	if s.maxBytes < 0 || s.senderMaxBytes < 0 {
		return fmt.Errorf("-store-max-bytes and -sender-queue-max-bytes must be 0 (no cap) or more")
	}
	return nil
}

// apply sets the caps in a store's configuration.
func (s storeOptions) apply(cfg store.Config) store.Config {
	cfg.MaxQueuedBytes, cfg.SenderMaxBytes = s.maxBytes, s.senderMaxBytes
	return cfg
}
