package layering

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/actorchat/chat"

// rule forbids packages under from importing anything that starts with one
// of the forbidden prefixes (a prefix of our own module names a tree).
type rule struct {
	from      string
	forbidden []string
	why       string
}

var rules = []rule{
	{"proto/", []string{"actors", "server", "client", "cmd", "internal"}, "proto/ is the innermost layer"},
	{"actors", []string{"server", "client", "cmd", "net/http", "github.com/gorilla/websocket"}, "actors know nothing of the edge"},
	{"server", []string{"client", "cmd"}, "the server edge does not depend on the client"},
	{"client", []string{"server", "actors", "cmd"}, "the client speaks only the wire protocol"},
}

// onlyRule lets packages under from import nothing but the standard
// library and the allowed prefixes.
type onlyRule struct {
	from    string
	allowed []string
	why     string
}

var onlyRules = []onlyRule{
	{"server/transport", []string{"github.com/gorilla/websocket", "golang.org/x/sys/unix", module + "/internal/workers"},
		"the transport runs WebSocket connections for any app: nothing of actors, chat or metrics"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestDependenciesPointInward(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages; is the module root right?", len(pkgs))
	}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			if strings.HasPrefix(strings.TrimPrefix(imp, module+"/"), "cmd/") {
				t.Errorf("%s imports %s: nothing imports a command", rel, imp)
			}
			for _, v := range violations(rel, imp) {
				t.Error(v)
			}
		}
	}
}

// violations returns what is wrong with package rel importing imp.
func violations(rel, imp string) []string {
	out := onlyViolations(rel, imp)
	for _, r := range rules {
		if !strings.HasPrefix(rel, r.from) {
			continue
		}
		for _, f := range r.forbidden {
			target := imp
			if strings.HasPrefix(imp, module+"/") {
				target = strings.TrimPrefix(imp, module+"/")
			} else if !strings.Contains(f, ".") && !strings.Contains(f, "/") {
				continue // an own-tree prefix never matches a third-party path
			}
			if target == f || strings.HasPrefix(target, f+"/") {
				out = append(out, rel+" imports "+imp+": "+r.why)
			}
		}
	}
	return out
}

// onlyViolations applies onlyRules.
func onlyViolations(rel, imp string) []string {
	var out []string
	for _, r := range onlyRules {
		if rel != r.from && !strings.HasPrefix(rel, r.from+"/") {
			continue
		}
		first, _, _ := strings.Cut(imp, "/")
		if !strings.Contains(first, ".") { // the standard library
			continue
		}
		if !slices.ContainsFunc(r.allowed, func(a string) bool { return imp == a || strings.HasPrefix(imp, a+"/") }) {
			out = append(out, rel+" imports "+imp+": "+r.why)
		}
	}
	return out
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(&out); dec.More(); {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestRulesCatchViolations keeps the checker honest: each rule must flag a
// made-up import that breaks it.
func TestRulesCatchViolations(t *testing.T) {
	cases := []struct{ from, imp string }{
		{"actors", module + "/server"},
		{"actors/store", "net/http"},
		{"actors", "github.com/gorilla/websocket"},
		{"proto/wire", module + "/actors"},
		{"client", module + "/server"},
		{"server", module + "/client"},
		{"server/transport", module + "/proto/chatpb"},
		{"server/transport", "github.com/prometheus/client_golang/prometheus"},
		{"server/transport", "github.com/asynkron/protoactor-go/actor"},
	}
	for _, c := range cases {
		if len(violations(c.from, c.imp)) == 0 {
			t.Errorf("%s importing %s was not flagged", c.from, c.imp)
		}
	}
	allowed := []struct{ from, imp string }{
		{"server/transport", "github.com/gorilla/websocket"},
		{"server/transport", "net/http"},
		{"server/transport", module + "/internal/workers"},
		{"server", module + "/server/transport"},
	}
	for _, c := range allowed {
		if v := violations(c.from, c.imp); len(v) > 0 {
			t.Errorf("%s importing %s was flagged: %v", c.from, c.imp, v)
		}
	}
}
