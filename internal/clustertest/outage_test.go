package clustertest

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/actorchat/chat/internal/pgtest"
	"github.com/actorchat/chat/proto/wire"
)

// etcd is killed and started again: the nodes say so in /readyz meanwhile
// (503) and are ready again by themselves once it is back. Then the path of
// a lease that expired while etcd was away: the nodes' keys are deleted, as
// etcd does when a lease expires. Every node's provider drops the node from
// the member list, and this Proto.Actor's etcd provider alone never puts it
// back (see actors/cluster_member.go); the nodes rejoin by themselves, each
// is in every node's member list again, and chat crosses all nodes again.
func TestClusterEtcdOutage(t *testing.T) {
	c := newCluster(t, pgtest.Shared(t), 3, "-auth", "none", "-msg-rate", "0")
	chatAcross(t, c, "before")
	c.etcd.stopNow()
	for i := range c.nodes {
		eventually(t, waitFor, "readyz 503 without etcd", func() error { return notReady(c, i, "etcd") })
	}
	c.etcd.start(t)
	c.awaitMembers(nil)
	marks := logMarks(c)
	c.etcd.deleteMembers(t)
	eventually(t, failoverWait, "every node back in every member list", func() error { return fullLists(c, marks) })
	for i := range c.nodes {
		if !strings.Contains(c.nodes[i].proc.log()[marks[i]:], "cluster: joined again") {
			t.Errorf("node %d did not rejoin", i)
		}
	}
	c.awaitMembers(marks)
	chatAcross(t, c, "after")
	if t.Failed() {
		t.Log(c.logs())
	}
}

// PostgreSQL is stopped and started again: /readyz goes 503 and back to
// 200, a private message meanwhile is refused with an error (never
// dropped), and one sent after works.
func TestClusterPostgresOutage(t *testing.T) {
	skipUnless(t)
	pg := pgtest.Fresh(t)
	c := newCluster(t, pg, 3, "-auth", "none", "-msg-rate", "0")
	alice := dial(t, c.wsURL(0), "alice", "")
	bob := dial(t, c.wsURL(1), "bob", "")
	alice.dm("bob", "before", "pg-1")
	bob.message("before")
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range c.nodes {
		eventually(t, waitFor, "readyz 503 without PostgreSQL", func() error { return notReady(c, i, "store") })
	}
	alice.dm("bob", "during", "pg-2")
	if f := alice.receipt("pg-2"); f.Type != "error" || f.Code != wire.CodeInternal {
		t.Fatalf("a dm while the store is down got %+v, want an internal error", f)
	}
	if err := pg.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.awaitMembers(nil)
	alice.dm("bob", "after", "pg-3")
	if f := alice.receipt("pg-3"); f.Type != "sent" {
		t.Fatalf("a dm after the store is back got %+v", f)
	}
	bob.message("after")
}

// chatAcross checks that a public message from each node reaches a user on
// every node, and that a private message crosses every pair of nodes.
func chatAcross(t *testing.T, c *cluster, tag string) {
	t.Helper()
	var users []*client
	for i := range c.nodes {
		users = append(users, dial(t, c.wsURL(i), fmt.Sprintf("%s-%d", tag, i), ""))
	}
	for i, u := range users {
		text := fmt.Sprintf("%s public from %d", tag, i)
		u.say(text, text)
		for _, r := range users {
			r.message(text)
		}
		to := users[(i+1)%len(users)]
		dm := fmt.Sprintf("%s dm from %d", tag, i)
		u.dm(to.user, dm, dm)
		to.message(dm)
	}
	for _, u := range users {
		u.close()
	}
}

// notReady fails unless node i's /readyz answers 503 naming what.
func notReady(c *cluster, i int, what string) error {
	err := httpOK("http://" + c.addr(i) + "/readyz")
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), what) {
		return fmt.Errorf("readyz: %v", err)
	}
	return nil
}

var memberList = regexp.MustCompile(`msg="cluster: member list" members=(\d+) joined=\d+ left=\d+ self=(\w+)`)

// fullLists fails unless every running node's last member list since its
// mark (nil: since it started) has every running node, itself included.
func fullLists(c *cluster, marks []int) error {
	want := fmt.Sprint(len(c.running()))
	for i, nd := range c.nodes {
		if nd.proc == nil {
			continue
		}
		log := nd.proc.log()
		if marks != nil {
			log = log[min(marks[i], len(log)):]
		}
		all := memberList.FindAllStringSubmatch(log, -1)
		if len(all) == 0 {
			return fmt.Errorf("node %d logged no member list yet", i)
		}
		last := all[len(all)-1]
		if last[1] != want || last[2] != "true" {
			return fmt.Errorf("node %d: %s", i, last[0])
		}
	}
	return nil
}

// logMarks returns how long each node's log is now.
func logMarks(c *cluster) []int {
	var marks []int
	for _, nd := range c.nodes {
		n := 0
		if nd.proc != nil {
			n = len(nd.proc.log())
		}
		marks = append(marks, n)
	}
	return marks
}
