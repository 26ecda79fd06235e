package corpus

// earliestUnion keeps the smallest element of every set as its root, so
// the survivor of a cluster does not depend on the order of the pairs. The
// cross-dataset engine uses it: the earliest submission wins.
type earliestUnion struct {
	parent []uint32
}

func newEarliestUnion(n int) *earliestUnion {
	u := &earliestUnion{parent: make([]uint32, n)}
	for i := range u.parent {
		u.parent[i] = uint32(i)
	}
	return u
}

func (u *earliestUnion) find(x uint32) uint32 {
	root := x
	for u.parent[root] != root {
		root = u.parent[root]
	}
	for u.parent[x] != root {
		next := u.parent[x]
		u.parent[x] = root
		x = next
	}
	return root
}

func (u *earliestUnion) union(a, b uint32) {
	ra, rb := u.find(a), u.find(b)
	switch {
	case ra == rb:
	case ra < rb:
		u.parent[rb] = ra
	default:
		u.parent[ra] = rb
	}
}
