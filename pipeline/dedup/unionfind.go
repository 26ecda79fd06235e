package dedup

// datatroveUnion is MinhashDedupCluster's union-find: union by size, and on
// equal sizes the root of the pair's first element stays root. The order in
// which pairs are applied therefore decides which document survives, so
// callers replay datatrove's order: buckets in order, and within a bucket
// the pairs of neighbours in (signature, document) order.
type datatroveUnion struct {
	parent []int32
	size   []int32
}

func newDatatroveUnion(n int) *datatroveUnion {
	u := &datatroveUnion{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
	}
	return u
}

func (u *datatroveUnion) find(x int32) int32 {
	root := x
	for u.parent[root] != root {
		root = u.parent[root]
	}
	for u.parent[x] != root { // path compression, as datatrove's parent()
		next := u.parent[x]
		u.parent[x] = root
		x = next
	}
	return root
}

// union joins the sets of a (the earlier document of the pair) and b.
func (u *datatroveUnion) union(a, b int32) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
	u.size[ra] += u.size[rb]
}
