package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAuthOptions(t *testing.T) {
	t.Parallel()
	o, err := parseOptions(nil, env(nil), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.auth != (authOptions{mode: "accounts", rate: 30, registration: "open", tokenTTL: 720 * time.Hour}) {
		t.Errorf("defaults %+v", o.auth)
	}
	o, err = parseOptions([]string{"-auth-rate", "5", "-token-ttl", "1h"}, env(map[string]string{
		"CHAT_AUTH": "none", "CHAT_AUTH_RATE": "9", "CHAT_REGISTRATION": "closed", "CHAT_ADMIN_SOCKET": "/run/chatd/admin.sock",
	}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := authOptions{mode: "none", rate: 5, registration: "closed", tokenTTL: time.Hour, adminSocket: "/run/chatd/admin.sock"}
	if o.auth != want {
		t.Errorf("got %+v, want %+v (flags over the environment)", o.auth, want)
	}
}

func TestAuthOptionsRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-auth", "ldap"}, "-auth"},
		{[]string{"-registration", "invite"}, "-registration"},
		{[]string{"-auth-rate", "-1"}, "-auth-rate"},
		{[]string{"-token-ttl", "0s"}, "-token-ttl"},
	} {
		_, err := parseOptions(c.args, env(nil), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

func TestHelpListsAuthFlags(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, _ = parseOptions([]string{"-h"}, env(nil), &out)
	for _, name := range []string{"auth", "auth-rate", "registration", "token-ttl", "admin-socket"} {
		if !strings.Contains(out.String(), "-"+name) || !strings.Contains(out.String(), envName(name)) {
			t.Errorf("-h does not list -%s with $%s", name, envName(name))
		}
	}
}

func TestAdminSocketPath(t *testing.T) {
	t.Parallel()
	if got := adminSocketPath("/var/lib/chat", ""); got != filepath.Join("/var/lib/chat", "admin", "chatd.sock") {
		t.Errorf("default socket %q", got)
	}
	if got := adminSocketPath("/var/lib/chat", "/run/x.sock"); got != "/run/x.sock" {
		t.Errorf("-admin-socket ignored: %q", got)
	}
}
