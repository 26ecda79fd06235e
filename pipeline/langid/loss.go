package langid

import "math"

// scored is one candidate label: its log-probability as fastText keeps it
// (float32, with the +1e-5 of std_log) and its label index.
type scored struct {
	score float32
	label int32
}

// stdLog is fastText's std_log: log(x + 1e-5), evaluated in double (the
// literal 1e-5 is a double) and returned as float.
func stdLog(x float32) float32 {
	return float32(math.Log(float64(x) + 1e-5))
}

// expf stands in for the float overload of std::exp.
func expf(x float32) float32 {
	return float32(math.Exp(float64(x)))
}

// less is fastText's comparePairs used as the heap order: a greater score
// sorts first, so the heap's front is the weakest candidate kept.
func less(a, b scored) bool { return a.score > b.score }

// The heap routines follow libstdc++'s push_heap / pop_heap / sort_heap step
// by step, so that candidates with equal scores come out in the same order
// as from the fastText builds that datatrove runs.
func pushHeap(h []scored) {
	hole := len(h) - 1
	v := h[hole]
	siftUp(h, hole, 0, v)
}

func siftUp(h []scored, hole, top int, v scored) {
	parent := (hole - 1) / 2
	for hole > top && less(h[parent], v) {
		h[hole] = h[parent]
		hole = parent
		parent = (hole - 1) / 2
	}
	h[hole] = v
}

func adjustHeap(h []scored, hole, n int, v scored) {
	top := hole
	child := hole
	for child < (n-1)/2 {
		child = 2 * (child + 1)
		if less(h[child], h[child-1]) {
			child--
		}
		h[hole] = h[child]
		hole = child
	}
	if n&1 == 0 && child == (n-2)/2 {
		child = 2 * (child + 1)
		h[hole] = h[child-1]
		hole = child - 1
	}
	siftUp(h, hole, top, v)
}

// popHeap moves the front to the end of h.
func popHeap(h []scored) {
	n := len(h)
	if n < 2 {
		return
	}
	last := n - 1
	v := h[last]
	h[last] = h[0]
	adjustHeap(h, 0, last, v)
}

func sortHeap(h []scored) {
	for n := len(h); n > 1; n-- {
		popHeap(h[:n])
	}
}

// offer adds a candidate to a heap of at most k entries.
func offer(h []scored, k int, c scored) []scored {
	h = append(h, c)
	pushHeap(h)
	if len(h) > k {
		popHeap(h)
		h = h[:len(h)-1]
	}
	return h
}

// hsTree is the Huffman tree of hierarchical softmax (loss.cc buildTree),
// built from the label counts. Nodes 0..osz-1 are the leaves (labels), the
// rest internal; internal node i uses output row i-osz.
type hsTree struct {
	osz         int32
	left, right []int32
	parent      []int32 // of every node but the root
}

func buildHSTree(counts []int64) *hsTree {
	osz := int32(len(counts))
	n := 2*osz - 1
	if n < 1 {
		return &hsTree{osz: osz}
	}
	left := make([]int32, n)
	right := make([]int32, n)
	count := make([]int64, n)
	for i := range n {
		left[i], right[i] = -1, -1
		count[i] = 1e15
	}
	copy(count, counts)
	// The counts are sorted in decreasing order, so the leaves are taken
	// from the end while the new nodes queue up from osz onwards.
	leaf := osz - 1
	node := osz
	for i := osz; i < n; i++ {
		var mini [2]int32
		for j := range 2 {
			if leaf >= 0 && count[leaf] < count[node] {
				mini[j] = leaf
				leaf--
			} else {
				mini[j] = node
				node++
			}
		}
		left[i], right[i] = mini[0], mini[1]
		count[i] = count[mini[0]] + count[mini[1]]
	}
	parent := make([]int32, n)
	for i := osz; i < n; i++ {
		parent[left[i]], parent[right[i]] = i, i
	}
	return &hsTree{osz: osz, left: left, right: right, parent: parent}
}

// hsPredict walks the tree depth first (HierarchicalSoftmaxLoss::dfs),
// pruning branches below the threshold or below the k-th best so far.
func hsPredict(t *hsTree, out matrix, hidden []float32, k int, logThreshold float32, h []scored) []scored {
	if t.osz == 0 {
		return h
	}
	var dfs func(node int32, score float32)
	dfs = func(node int32, score float32) {
		if score < logThreshold {
			return
		}
		if len(h) == k && score < h[0].score {
			return
		}
		if t.left[node] == -1 && t.right[node] == -1 {
			h = offer(h, k, scored{score, node})
			return
		}
		f := out.dotRow(hidden, node-t.osz)
		// f = 1. / (1 + std::exp(-f)): float exp, float sum, double divide.
		f = float32(1.0 / float64(1+expf(-f)))
		dfs(t.left[node], score+stdLog(float32(1.0-float64(f))))
		dfs(t.right[node], score+stdLog(f))
	}
	dfs(2*t.osz-2, 0)
	return h
}

// findKBest keeps the k best of a full output vector (Loss::findKBest).
func findKBest(output []float32, k int, threshold float32, h []scored) []scored {
	for i, p := range output {
		if p < threshold {
			continue
		}
		s := stdLog(p)
		if len(h) == k && s < h[0].score {
			continue
		}
		h = offer(h, k, scored{s, int32(i)})
	}
	return h
}

// softmaxOutput fills output with the softmax of out·hidden
// (SoftmaxLoss::computeOutput).
func softmaxOutput(out matrix, hidden, output []float32) {
	for i := range output {
		output[i] = out.dotRow(hidden, int32(i))
	}
	maxv := output[0]
	for _, v := range output {
		maxv = max(maxv, v)
	}
	var z float32
	for i, v := range output {
		output[i] = expf(v - maxv)
		z += output[i]
	}
	for i := range output {
		output[i] /= z
	}
}

// sigmoidTable is fastText's tabulated sigmoid over [-8, 8] (loss.cc), used
// by the one-vs-all and negative-sampling losses.
var sigmoidTable = func() [513]float32 {
	var t [513]float32
	for i := range t {
		x := float32(i*2*8)/512 - 8
		t[i] = float32(1.0 / (1.0 + float64(expf(-x))))
	}
	return t
}()

func sigmoid(x float32) float32 {
	switch {
	case x < -8:
		return 0
	case x > 8:
		return 1
	}
	return sigmoidTable[int64((x+8)*512/8/2)]
}

// sigmoidOutput fills output with sigmoid(out·hidden)
// (BinaryLogisticLoss::computeOutput).
func sigmoidOutput(out matrix, hidden, output []float32) {
	for i := range output {
		output[i] = sigmoid(out.dotRow(hidden, int32(i)))
	}
}
