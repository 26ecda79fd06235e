package lm

import "math"

// forward runs nseq sequences of Ctx tokens (tokens and targets are
// nseq·Ctx long; a negative target is ignored). It fills the per-row loss
// and top-1 hit, and when train is set leaves d(mean loss)/d(logits) in the
// logits buffer. It returns the summed loss and the number of scored rows.
func (m *Model) forward(tokens, targets []int32, nseq int, train bool) (sum float64, count int) {
	c := m.Cfg
	a := m.ensureActs()
	T, d, V := c.Ctx, c.Dim, c.Vocab
	R := nseq * T
	wte, wpe := m.view(m.wte), m.view(m.wpe)

	x := a.layers[0].xin[:R*d]
	for r := 0; r < R; r++ {
		tok, t := int(tokens[r]), r%T
		xr, e, p := x[r*d:r*d+d], wte[tok*d:tok*d+d], wpe[t*d:t*d+d]
		for i := range xr {
			xr[i] = e[i] + p[i]
		}
	}
	for l, p := range m.layers {
		la := &a.layers[l]
		layerNorm(la.ln1, la.ln1Mean, la.ln1Rstd, la.xin, m.view(p.ln1g), m.view(p.ln1b), R, d)
		matNN(la.qkv, la.ln1, m.view(p.wqkv), R, d, 3*d)
		m.attention(la, nseq)
		matNN(la.x1, la.y, m.view(p.wo), R, d, d)
		addInto(la.x1[:R*d], la.xin[:R*d])
		layerNorm(la.ln2, la.ln2Mean, la.ln2Rstd, la.x1, m.view(p.ln2g), m.view(p.ln2b), R, d)
		matNN(la.fc, la.ln2, m.view(p.wfc), R, d, 4*d)
		relu(la.fcAct[:R*4*d], la.fc[:R*4*d])
		next := a.xf
		if l+1 < len(m.layers) {
			next = a.layers[l+1].xin
		}
		matNN(next, la.fcAct, m.view(p.wproj), R, 4*d, d)
		addInto(next[:R*d], la.x1[:R*d])
	}
	layerNorm(a.lnf, a.lnfMean, a.lnfRst, a.xf, m.view(m.lnfg), m.view(m.lnfb), R, d)
	matNT(a.logits, a.lnf, wte, a.scratch, R, d, V)

	for _, tg := range targets[:R] {
		if tg >= 0 {
			count++
		}
	}
	inv := float32(0)
	if count > 0 {
		inv = 1 / float32(count)
	}
	parallelFor(chunks(R, rowChunk), func(ch int) {
		for r := ch * rowChunk; r < min((ch+1)*rowChunk, R); r++ {
			row := a.logits[r*V : r*V+V]
			tg := int(targets[r])
			if tg < 0 {
				a.rowLoss[r], a.rowHit[r] = 0, false
				if train {
					clear(row)
				}
				continue
			}
			mx, arg := row[0], 0
			for v, z := range row {
				if z > mx {
					mx, arg = z, v
				}
			}
			zt := row[tg]
			var s float32
			if train { // keep the exponentials for the gradient
				for v, z := range row {
					e := Exp(z - mx)
					row[v] = e
					s += e
				}
			} else {
				for _, z := range row {
					s += Exp(z - mx)
				}
			}
			lse := float64(mx) + Log(float64(s))
			a.rowLoss[r] = float32(lse - float64(zt))
			a.rowHit[r] = arg == tg
			if train {
				is := 1 / s
				for v, e := range row {
					row[v] = float32(float32(e*is) * inv)
				}
				row[tg] -= inv
			}
		}
	})
	for r := 0; r < R; r++ {
		if targets[r] >= 0 {
			sum += float64(a.rowLoss[r])
		}
	}
	return sum, count
}

func addInto(dst, src []float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

func relu(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		if v > 0 {
			dst[i] = v
		} else {
			dst[i] = 0
		}
	}
}

func (m *Model) attnScale() float32 {
	return 1 / sqrt32(float32(m.Cfg.Dim/m.Cfg.Heads))
}

// attention computes causal multi-head attention for each sequence and head
// independently (one work item each), saving the probabilities.
func (m *Model) attention(la *layerActs, nseq int) {
	c := m.Cfg
	T, d, H := c.Ctx, c.Dim, c.Heads
	hd := d / H
	scale := m.attnScale()
	parallelFor(nseq*H, func(item int) {
		b, h := item/H, item%H
		P := la.att[item*T*T : (item+1)*T*T]
		for t := 0; t < T; t++ {
			q := la.qkv[(b*T+t)*3*d+h*hd:][:hd]
			pr := P[t*T : t*T+T]
			mx := float32(math.Inf(-1))
			for s := 0; s <= t; s++ {
				k := la.qkv[(b*T+s)*3*d+d+h*hd:][:hd]
				var dot float32
				for i, qv := range q {
					dot += float32(qv * k[i])
				}
				z := float32(dot * scale)
				pr[s] = z
				if z > mx {
					mx = z
				}
			}
			var sum float32
			for s := 0; s <= t; s++ {
				e := Exp(pr[s] - mx)
				pr[s] = e
				sum += e
			}
			is := 1 / sum
			for s := 0; s <= t; s++ {
				pr[s] = float32(pr[s] * is)
			}
			clear(pr[t+1:])
			y := la.y[(b*T+t)*d+h*hd:][:hd]
			clear(y)
			for s := 0; s <= t; s++ {
				v := la.qkv[(b*T+s)*3*d+2*d+h*hd:][:hd]
				ps := pr[s]
				for i := range y {
					y[i] += float32(ps * v[i])
				}
			}
		}
	})
}

// attentionBack turns dY (R×d) into dQKV (R×3d) for each sequence and head.
func (m *Model) attentionBack(la *layerActs, dY, dQKV []float32, nseq int) {
	c := m.Cfg
	T, d, H := c.Ctx, c.Dim, c.Heads
	hd := d / H
	scale := m.attnScale()
	a := m.act
	parallelFor(nseq*H, func(item int) {
		b, h := item/H, item%H
		P := la.att[item*T*T : (item+1)*T*T]
		dS := a.datt[item*T*T : (item+1)*T*T]
		for t := 0; t < T; t++ {
			off := (b*T+t)*3*d + h*hd
			clear(dQKV[off : off+hd])
			clear(dQKV[off+d : off+d+hd])
			clear(dQKV[off+2*d : off+2*d+hd])
		}
		for t := 0; t < T; t++ {
			dy := dY[(b*T+t)*d+h*hd:][:hd]
			pr, ds := P[t*T:t*T+T], dS[t*T:t*T+T]
			var sum float32
			for s := 0; s <= t; s++ {
				v := la.qkv[(b*T+s)*3*d+2*d+h*hd:][:hd]
				dv := dQKV[(b*T+s)*3*d+2*d+h*hd:][:hd]
				ps := pr[s]
				var dp float32
				for i, g := range dy {
					dp += float32(g * v[i])
					dv[i] += float32(ps * g)
				}
				ds[s] = dp
				sum += float32(ps * dp)
			}
			q := la.qkv[(b*T+t)*3*d+h*hd:][:hd]
			dq := dQKV[(b*T+t)*3*d+h*hd:][:hd]
			for s := 0; s <= t; s++ {
				g := float32(float32(pr[s]*(ds[s]-sum)) * scale)
				k := la.qkv[(b*T+s)*3*d+d+h*hd:][:hd]
				dk := dQKV[(b*T+s)*3*d+d+h*hd:][:hd]
				for i := range dq {
					dq[i] += float32(g * k[i])
					dk[i] += float32(g * q[i])
				}
			}
		}
	})
}

// backward propagates the loss gradient left in the logits by forward into
// Grads (which it accumulates into; the caller zeroes them).
func (m *Model) backward(tokens []int32, nseq int) {
	c := m.Cfg
	a := m.act
	T, d, V := c.Ctx, c.Dim, c.Vocab
	R := nseq * T
	dx, dx1, dtmp := a.dx[:R*d], a.dx1[:R*d], a.dtmp[:R*d]

	matNN(dtmp, a.logits, m.view(m.wte), R, V, d)
	matTNAdd(m.gview(m.wte), a.logits, a.lnf, R, V, d)
	clear(dx)
	layerNormBack(dx, dtmp, a.xf, a.lnfMean, a.lnfRst, m.view(m.lnfg), m.gview(m.lnfg), m.gview(m.lnfb), R, d)

	for l := len(m.layers) - 1; l >= 0; l-- {
		p, la := m.layers[l], &a.layers[l]
		dfc := a.dfc[:R*4*d]
		matNT(dfc, dx, m.view(p.wproj), a.scratch, R, d, 4*d)
		matTNAdd(m.gview(p.wproj), la.fcAct, dx, R, 4*d, d)
		for i, v := range la.fc[:R*4*d] {
			if v <= 0 {
				dfc[i] = 0
			}
		}
		matNT(dtmp, dfc, m.view(p.wfc), a.scratch, R, 4*d, d)
		matTNAdd(m.gview(p.wfc), la.ln2, dfc, R, d, 4*d)
		copy(dx1, dx)
		layerNormBack(dx1, dtmp, la.x1, la.ln2Mean, la.ln2Rstd, m.view(p.ln2g), m.gview(p.ln2g), m.gview(p.ln2b), R, d)

		dy := a.dy[:R*d]
		matNT(dy, dx1, m.view(p.wo), a.scratch, R, d, d)
		matTNAdd(m.gview(p.wo), la.y, dx1, R, d, d)
		dqkv := a.dqkv[:R*3*d]
		m.attentionBack(la, dy, dqkv, nseq)
		matNT(dtmp, dqkv, m.view(p.wqkv), a.scratch, R, 3*d, d)
		matTNAdd(m.gview(p.wqkv), la.ln1, dqkv, R, d, 3*d)
		copy(dx, dx1)
		layerNormBack(dx, dtmp, la.xin, la.ln1Mean, la.ln1Rstd, m.view(p.ln1g), m.gview(p.ln1g), m.gview(p.ln1b), R, d)
	}
	gwte, gwpe := m.gview(m.wte), m.gview(m.wpe)
	for r := 0; r < R; r++ {
		tok, t := int(tokens[r]), r%T
		g := dx[r*d : r*d+d]
		addInto(gwte[tok*d:tok*d+d], g)
		addInto(gwpe[t*d:t*d+d], g)
	}
}
