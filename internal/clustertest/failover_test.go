package clustertest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/actorchat/chat/internal/pgtest"
)

// failoverWait bounds a failover: the dead member's lease (3 s), the
// topology change, the clients' reconnects and the grains' new homes.
const failoverWait = 60 * time.Second

// Users on all three nodes send each other private messages while one node
// after another is killed (SIGKILL) and started again. Clients of the dead
// node reconnect to the others, actors that lived there come back on the
// survivors, and every message that was receipted is received: received ⊇
// receipted. The time from the kill until every user has a receipt for a
// message sent after it is logged as the failover time.
func TestClusterNodeKill(t *testing.T) {
	c := newCluster(t, pgtest.Shared(t), 3, "-auth", "none", "-msg-rate", "0")
	var agents []*agent
	for i := range 6 {
		agents = append(agents, newAgent(t, fmt.Sprintf("nk-%d", i), func() []string { return c.wsURLs(i % 3) }))
	}
	n := 0
	traffic := func() {
		for i, a := range agents {
			a.send(agents[(i+1)%len(agents)].name, n)
			a.send(agents[(i+3)%len(agents)].name, n)
		}
		n++
	}
	for range 5 {
		traffic()
	}
	awaitReceipts(t, c, agents, waitFor)
	var failovers []time.Duration
	for round := range 3 {
		victim := round % 3
		c.kill(victim)
		killed := time.Now()
		for range 5 {
			traffic()
		}
		awaitReceipts(t, c, agents, failoverWait)
		failovers = append(failovers, time.Since(killed))
		t.Logf("round %d: node %d killed; every user answered again after %v", round, victim, time.Since(killed).Round(time.Millisecond))
		c.restart(victim)
		traffic()
		awaitReceipts(t, c, agents, failoverWait)
	}
	slices.Sort(failovers)
	t.Logf("failover: median %v of %v", failovers[len(failovers)/2].Round(time.Millisecond), failovers)
	checkDelivered(t, c, agents)
}

// awaitReceipts waits until no agent has a message without a receipt.
func awaitReceipts(t *testing.T, c *cluster, agents []*agent, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for _, a := range agents {
		for a.unreceipted() > 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d messages without a receipt after %v\n%s", a.name, a.unreceipted(), within, c.logs())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// checkDelivered waits until every receipted message has reached its
// recipient.
func checkDelivered(t *testing.T, c *cluster, agents []*agent) {
	t.Helper()
	total := 0
	for _, to := range agents {
		for _, from := range agents {
			for _, o := range from.sentTo(to.name) {
				total++
				eventually(t, failoverWait, o.text+" received", func() error {
					if to.has(o.text) {
						return nil
					}
					return fmt.Errorf("%s never received %q, which was receipted", to.name, o.text)
				})
			}
		}
	}
	t.Logf("%d receipted private messages, all received", total)
}
