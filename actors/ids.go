package actors

import (
	"strconv"
	"sync/atomic"
)

// idSource hands out message ids: the store's epoch for this process, then a
// counter, both base 36 ("k3x-1a"). The epoch never repeats across restarts,
// so neither do ids. It is shared by the room and every user actor, which is
// why the counter is atomic: no actor has to be asked for an id.
type idSource struct {
	prefix string        // set at construction
	n      atomic.Uint64 // the last id's counter
}

func newIDSource(epoch uint64) *idSource {
	return &idSource{prefix: strconv.FormatUint(epoch, 36) + "-"}
}

// next returns a new id.
func (s *idSource) next() string {
	return s.prefix + strconv.FormatUint(s.n.Add(1), 36)
}
