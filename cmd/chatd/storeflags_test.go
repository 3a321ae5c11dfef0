package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/actorchat/chat/actors/store"
)

// The store's caps: flags, their variables and defaults, and what reaches
// the store's configuration.
func TestStoreCapFlags(t *testing.T) {
	t.Parallel()
	o, err := parseOptions([]string{"-sender-queue-max-bytes", "1000"},
		env(map[string]string{"CHAT_STORE_MAX_BYTES": "5000", "CHAT_SENDER_QUEUE_MAX_BYTES": "9"}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := o.storeCaps.apply(store.Config{}); cfg.MaxQueuedBytes != 5000 || cfg.SenderMaxBytes != 1000 {
		t.Errorf("store caps %d, %d; want the variable's 5000 and the flag's 1000 over its variable",
			cfg.MaxQueuedBytes, cfg.SenderMaxBytes)
	}
	d, err := parseOptions(nil, env(nil), &bytes.Buffer{})
	if err != nil || d.storeCaps.maxBytes != 1<<30 || d.storeCaps.senderMaxBytes != 16<<20 {
		t.Errorf("defaults %+v, %v; want 1 GiB and 16 MiB", d.storeCaps, err)
	}
	if _, err := parseOptions([]string{"-store-max-bytes", "-1"}, env(nil), &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "-store-max-bytes") {
		t.Errorf("a negative cap: %v", err)
	}
	var help bytes.Buffer
	_, _ = parseOptions([]string{"-h"}, env(nil), &help)
	for _, name := range []string{"store-max-bytes", "sender-queue-max-bytes"} {
		if !strings.Contains(help.String(), "-"+name) || !strings.Contains(help.String(), envName(name)) {
			t.Errorf("-h does not list -%s with $%s", name, envName(name))
		}
	}
}
