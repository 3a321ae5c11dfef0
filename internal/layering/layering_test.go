package layering

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/actorchat/chat"

// rule forbids the packages of one tree from depending on anything under
// the forbidden trees: an own-tree name ("server") stands for that path in
// this module, a name with a dot ("github.com/asynkron") for a third-party
// tree, and one without ("net/http") for a standard-library package. A
// transitive rule looks at every package the tree links (go list's Deps),
// a direct one only at its imports.
type rule struct {
	name       string
	from       string
	forbidden  []string
	transitive bool
	why        string
}

// ours stands for every package of this module in a rule's forbidden list.
const ours = "."

var rules = []rule{
	{"wire alone", "proto/wire", []string{ours, "github.com/asynkron"}, true,
		"the wire vocabulary stands alone: clients link it without the actor runtime"},
	{"proto inner", "proto", []string{"actors", "server", "client", "cmd", "internal"}, false,
		"proto/ is the innermost layer"},
	{"actors no edge", "actors", []string{"server", "client", "cmd", "github.com/gorilla/websocket"}, true,
		"actors know nothing of the edge"},
	// Proto.Actor itself links net/http, so actors depend on it through
	// that; only actors' own imports can be held to this.
	{"actors no http", "actors", []string{"net/http"}, false,
		"actors know nothing of HTTP"},
	{"server no client", "server", []string{"client", "cmd"}, true,
		"the server edge does not depend on the client"},
	{"transport knows no chat", "server/transport", transportForbidden, true,
		"the transport runs WebSocket connections for any app: nothing of actors, chat or metrics"},
	{"client wire only", "client", clientForbidden, true,
		"the client speaks only the wire protocol and links no actor runtime"},
	{"cli wire only", "cmd/chat", clientForbidden, true,
		"the CLI client links no actor runtime"},
}

// clientForbidden is what the client library and the CLI must not link:
// the server's side and its runtime (Proto.Actor, and the OpenTelemetry
// and Prometheus it pulls in).
var clientForbidden = []string{"server", "actors", "github.com/asynkron", "go.opentelemetry.io", "github.com/prometheus"}

// transportForbidden is what the connection machinery must not link: the
// chat (actors, both vocabularies, the rest of the edge), the actor runtime
// and the metrics library. internal/workers is all it uses of ours.
var transportForbidden = []string{"actors", "proto", "client", "auth",
	"github.com/asynkron", "go.opentelemetry.io", "github.com/prometheus"}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func TestDependenciesPointInward(t *testing.T) {
	t.Parallel()
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages; is the module root right?", len(pkgs))
	}
	for _, p := range pkgs {
		rel := relative(p.ImportPath)
		for _, imp := range p.Imports {
			if under(relative(imp), "cmd") && isOurs(imp) {
				t.Errorf("%s imports %s: nothing imports a command", rel, imp)
			}
		}
		for _, v := range violations(rel, p.Imports, p.Deps) {
			t.Error(v.msg)
		}
	}
}

// violation is one dependency that breaks a rule.
type violation struct {
	rule string // its name
	msg  string
}

// violations returns what is wrong with package rel importing imports and
// linking deps.
func violations(rel string, imports, deps []string) []violation {
	var out []violation
	for _, r := range rules {
		if !under(rel, r.from) {
			continue
		}
		checked, how := imports, "imports"
		if r.transitive {
			checked, how = deps, "depends on"
		}
		for _, dep := range checked {
			if dep != module+"/"+rel && forbids(r, dep) {
				out = append(out, violation{r.name, rel + " " + how + " " + dep + ": " + r.why})
			}
		}
	}
	return out
}

// forbids reports whether r forbids depending on the package dep.
func forbids(r rule, dep string) bool {
	for _, f := range r.forbidden {
		switch {
		case f == ours:
			if isOurs(dep) && !under(relative(dep), r.from) {
				return true
			}
		case isOurs(dep):
			if !strings.Contains(f, ".") && under(relative(dep), f) {
				return true
			}
		case under(dep, f):
			return true
		}
	}
	return false
}

// under reports whether path is tree or inside it.
func under(path, tree string) bool {
	return path == tree || strings.HasPrefix(path, tree+"/")
}

func isOurs(path string) bool { return under(path, module) }

// relative is a path of this module relative to its root; other paths are
// returned as they are.
func relative(path string) string {
	if path == module {
		return ""
	}
	return strings.TrimPrefix(path, module+"/")
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Imports,Deps", module+"/...")
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
// made-up dependency that breaks it, a transitive rule one that is only
// linked, not imported.
func TestRulesCatchViolations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		rule, from string
		imp, dep   string // a made-up import, or a made-up indirect dependency
	}{
		{"wire alone", "proto/wire", "", module + "/proto/chatpb"},
		{"wire alone", "proto/wire", "", "github.com/asynkron/protoactor-go/actor"},
		{"proto inner", "proto/chatpb", module + "/actors", ""},
		{"actors no edge", "actors", "", module + "/server"},
		{"actors no edge", "actors/store", "", "github.com/gorilla/websocket"},
		{"actors no http", "actors/store", "net/http", ""},
		{"server no client", "server", "", module + "/client"},
		{"transport knows no chat", "server/transport", "", module + "/proto/wire"},
		{"transport knows no chat", "server/transport", module + "/actors", ""},
		{"transport knows no chat", "server/transport", "", "github.com/prometheus/client_golang/prometheus"},
		{"client wire only", "client", "", "github.com/asynkron/protoactor-go/actor"},
		{"client wire only", "client", "", "go.opentelemetry.io/otel/metric"},
		{"client wire only", "client", module + "/server", ""},
		{"cli wire only", "cmd/chat", "", "github.com/prometheus/client_golang/prometheus"},
		{"cli wire only", "cmd/chat", "", module + "/actors"},
	}
	covered := map[string]bool{}
	for _, c := range cases {
		imports, deps := list(c.imp), list(c.dep)
		if c.imp != "" {
			deps = imports // what a package imports it also links
		}
		if !flaggedBy(violations(c.from, imports, deps), c.rule) {
			t.Errorf("%s depending on %s%s was not flagged by rule %q", c.from, c.imp, c.dep, c.rule)
		}
		covered[c.rule] = true
	}
	for _, r := range rules {
		if !covered[r.name] {
			t.Errorf("rule %q has no made-up violation here", r.name)
		}
	}
}

func flaggedBy(vs []violation, rule string) bool {
	for _, v := range vs {
		if v.rule == rule {
			return true
		}
	}
	return false
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// TestRulesAllowWhatTheyShould checks the rules against dependencies that
// are fine, so that a rule too broad cannot pass unnoticed.
func TestRulesAllowWhatTheyShould(t *testing.T) {
	t.Parallel()
	cases := []struct{ from, dep string }{
		{"proto/wire", "encoding/json"},
		{"proto/chatpb", "github.com/asynkron/protoactor-go/actor"},
		{"actors", "net/http"}, // linked through Proto.Actor
		{"actors", module + "/proto/chatpb"},
		{"cmd/chatd", "github.com/asynkron/protoactor-go/actor"},
		{"cmd/chatbench", "github.com/prometheus/client_golang/prometheus"},
		{"client", module + "/proto/wire"},
		{"server", module + "/actors"},
		{"server/transport", module + "/internal/workers"},
		{"server/transport", "github.com/gorilla/websocket"},
		{"serverless", module + "/client"}, // not under server
	}
	for _, c := range cases {
		if v := violations(c.from, nil, []string{c.dep}); len(v) > 0 {
			t.Errorf("%s depending on %s was flagged: %v", c.from, c.dep, v)
		}
	}
}
