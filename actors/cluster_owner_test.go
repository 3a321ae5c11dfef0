package actors

import (
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/cluster"
)

// TestOwnsMatchesOneMember checks the placement check behind ownedGrain:
// with a member list, exactly one member owns each identity, the one the
// distributed-hash lookup picks; a node missing from its own list owns
// nothing; before any list, a node does not know and keeps what it has.
func TestOwnsMatchesOneMember(t *testing.T) {
	t.Parallel()
	var members cluster.Members
	for i := range 3 {
		members = append(members, &cluster.Member{Host: "127.0.0.1", Port: int32(9000 + i), Id: fmt.Sprint("node-", i),
			Kinds: []string{userKind, roomKind}})
	}
	m := &etcdMember{}
	m.setOwners(members)
	rdv := cluster.NewRendezvous()
	rdv.UpdateMembers(members)
	for _, id := range []*cluster.ClusterIdentity{cluster.NewClusterIdentity(roomName, roomKind),
		cluster.NewClusterIdentity("alice", userKind), cluster.NewClusterIdentity("bob", userKind)} {
		owners := 0
		for _, mb := range members {
			if m.owns(id, mb.Address()) {
				owners++
				if mb.Address() != rdv.GetByClusterIdentity(id) {
					t.Errorf("%s: %s owns it, the lookup places it on %s", id, mb.Address(), rdv.GetByClusterIdentity(id))
				}
			}
		}
		if owners != 1 {
			t.Errorf("%s: %d owners, want 1", id, owners)
		}
		if m.owns(id, "127.0.0.1:9999") {
			t.Errorf("%s: a node outside the list owns it", id)
		}
		if !(&etcdMember{}).owns(id, "127.0.0.1:9999") {
			t.Errorf("%s: before any member list, a node must keep its grains", id)
		}
	}
}
