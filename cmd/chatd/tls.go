package main

import (
	"crypto/tls"
	"log/slog"

	"github.com/actorchat/chat/server"
)

// tlsConfig loads -tls-cert and -tls-key into the chat address's TLS
// settings, or returns nil for plain http and ws. The certificate source
// picks up a renewed pair on disk without a restart (server.CertSource).
//
// A separate -metrics-addr stays plain http: it is meant for an internal
// network (and must stay there, unencrypted), where scrapers and health
// probes reach the server by an address the public certificate does not
// name.
func tlsConfig(o options, logger *slog.Logger) (*tls.Config, error) {
	if o.tlsCert == "" {
		return nil, nil
	}
	src, err := server.NewCertSource(server.CertConfig{CertFile: o.tlsCert, KeyFile: o.tlsKey, Logger: logger})
	if err != nil {
		return nil, err
	}
	return src.TLSConfig(), nil
}
