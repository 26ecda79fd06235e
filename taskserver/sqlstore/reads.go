package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/datarefine/refine/taskserver"
)

// The public read model (taskserver/reads.go): aggregates computed in the
// database over indexed columns, from published scores only.

// publishedScore is a score as it is published: its verdict and the counts
// it states, read once from the detail.
type publishedScore struct {
	taskserver.Score
	documents, tokens sql.NullInt64
}

func publish(sc taskserver.Score) publishedScore {
	p := publishedScore{Score: sc}
	if d, t, ok := taskserver.VerdictCounts(sc.Detail); ok {
		p.documents = sql.NullInt64{Int64: d, Valid: true}
		p.tokens = sql.NullInt64{Int64: t, Valid: true}
	}
	return p
}

// insertScore publishes one score and recounts its submission's volume.
func insertScore(ctx context.Context, tx txn, p publishedScore) (int64, error) {
	var id int64
	sc := p.Score
	err := tx.QueryRowContext(ctx, `INSERT INTO scores(validator, hotkey, task_id, lease_id, accepted, score, detail, documents, tokens, at, block)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		sc.Validator, sc.Hotkey, sc.TaskID, nullInt(sc.LeaseID), boolInt(sc.Accepted), sc.Score, nullStr(sc.Detail), p.documents, p.tokens,
		ms(sc.At), int64(sc.Block)).Scan(&id)
	if err != nil {
		return 0, err
	}
	if sc.LeaseID > 0 {
		if err := recount(ctx, tx, sc.LeaseID); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// recount sets a submission's volume: the smallest counts its accepting
// published scores state, so that one validator overstating them cannot
// inflate the numbers (honest validators measure the same counts).
func recount(ctx context.Context, tx txn, leaseID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE leases SET
		documents = (SELECT min(documents) FROM scores WHERE lease_id = $1 AND accepted = 1),
		tokens = (SELECT min(tokens) FROM scores WHERE lease_id = $1 AND accepted = 1) WHERE id = $1`, leaseID)
	return err
}

// backfill5 gives the scores published before migration 5 their verdicts
// and counts, read from their JSON details, and their submissions their
// volume.
func backfill5(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, score, detail, lease_id FROM scores`)
	if err != nil {
		return err
	}
	type upd struct {
		id, lease         int64
		accepted          bool
		documents, tokens sql.NullInt64
	}
	var us []upd
	for rows.Next() {
		var u upd
		var score float64
		var detail sql.NullString
		var lease sql.NullInt64
		if err := rows.Scan(&u.id, &score, &detail, &lease); err != nil {
			rows.Close()
			return err
		}
		u.lease = lease.Int64
		var v struct {
			Accepted *bool `json:"accepted"`
		}
		// Verdicts say whether they accepted; a score without one counts
		// as accepting when it is positive (only accepted submissions
		// score above 0).
		if json.Unmarshal([]byte(detail.String), &v) == nil && v.Accepted != nil {
			u.accepted = *v.Accepted
		} else {
			u.accepted = score > 0
		}
		p := publish(taskserver.Score{Detail: detail.String})
		u.documents, u.tokens = p.documents, p.tokens
		us = append(us, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	leases := map[int64]bool{}
	for _, u := range us {
		if _, err := tx.ExecContext(ctx, `UPDATE scores SET accepted = $1, documents = $2, tokens = $3 WHERE id = $4`,
			boolInt(u.accepted), u.documents, u.tokens, u.id); err != nil {
			return err
		}
		if u.lease > 0 {
			leases[u.lease] = true
		}
	}
	for id := range leases {
		if _, err := tx.ExecContext(ctx, `UPDATE leases SET
			documents = (SELECT min(documents) FROM scores WHERE lease_id = $1 AND accepted = 1),
			tokens = (SELECT min(tokens) FROM scores WHERE lease_id = $1 AND accepted = 1) WHERE id = $1`, id); err != nil {
			return err
		}
	}
	return nil
}

const scoreCols = `id, validator, hotkey, task_id, lease_id, accepted, score, detail, at, block`

func scanScore(r scanner) (taskserver.Score, error) {
	var sc taskserver.Score
	var detail sql.NullString
	var lease sql.NullInt64
	var accepted int
	var at, block int64
	if err := r.Scan(&sc.ID, &sc.Validator, &sc.Hotkey, &sc.TaskID, &lease, &accepted, &sc.Score, &detail, &at, &block); err != nil {
		return sc, err
	}
	sc.LeaseID, sc.Accepted, sc.Detail, sc.At, sc.Block = lease.Int64, accepted != 0, detail.String, fromMS(at), uint64(block)
	return sc, nil
}

// ScoresOf implements taskserver.Store.
func (s *Store) ScoresOf(ctx context.Context, q taskserver.ScoreQuery) ([]taskserver.Score, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.Hotkey != "" {
		add("hotkey = ?", q.Hotkey)
	}
	if q.Validator != "" {
		add("validator = ?", q.Validator)
	}
	if q.LeaseID > 0 {
		add("lease_id = ?", q.LeaseID)
	}
	if q.TaskID > 0 {
		add("task_id = ?", q.TaskID)
	}
	query := `SELECT ` + scoreCols + ` FROM scores`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, max(q.Limit, 1))
	query += ` ORDER BY id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.Score
	for rows.Next() {
		sc, err := scanScore(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// Reporters implements taskserver.Store.
func (s *Store) Reporters(ctx context.Context, leaseID int64) ([]taskserver.ReportStatus, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT validator, released, at, block FROM reports WHERE lease_id = $1 ORDER BY id`, leaseID)
	if err != nil {
		return nil, err
	}
	var out []taskserver.ReportStatus
	seen := map[string]bool{}
	for rows.Next() {
		var r taskserver.ReportStatus
		var released int
		var at, block int64
		if err := rows.Scan(&r.Validator, &released, &at, &block); err != nil {
			rows.Close()
			return nil, err
		}
		r.Released, r.At, r.Block = released != 0, fromMS(at), uint64(block)
		seen[r.Validator] = true
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Scores published directly (imports) have no report.
	rows, err = s.r.QueryContext(ctx, `SELECT validator, at, block FROM scores WHERE lease_id = $1 ORDER BY id`, leaseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r taskserver.ReportStatus
		var at, block int64
		if err := rows.Scan(&r.Validator, &at, &block); err != nil {
			return nil, err
		}
		if seen[r.Validator] {
			continue
		}
		seen[r.Validator] = true
		r.Released, r.At, r.Block = true, fromMS(at), uint64(block)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Volume implements taskserver.Store.
func (s *Store) Volume(ctx context.Context) ([]taskserver.CrawlVolume, error) {
	byCrawl := map[string]*taskserver.CrawlVolume{}
	get := func(c string) *taskserver.CrawlVolume {
		v := byCrawl[c]
		if v == nil {
			v = &taskserver.CrawlVolume{Crawl: c}
			byCrawl[c] = v
		}
		return v
	}
	rows, err := s.r.QueryContext(ctx, `SELECT crawl, state, count(*) FROM tasks GROUP BY crawl, state`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var crawl, state string
		var n int64
		if err := rows.Scan(&crawl, &state, &n); err != nil {
			rows.Close()
			return nil, err
		}
		v := get(crawl)
		v.Tasks += n
		switch taskserver.TaskState(state) {
		case taskserver.TaskDone:
			v.Done += n
		case taskserver.TaskSubmitted:
			v.Submitted += n
		case taskserver.TaskLeased:
			v.Leased += n
		case taskserver.TaskPending:
			v.Pending += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT t.crawl, count(*), count(l.documents), coalesce(sum(l.documents), 0), coalesce(sum(l.tokens), 0)
		FROM leases l JOIN tasks t ON t.id = l.task_id WHERE l.decision = 'accepted' GROUP BY t.crawl`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var crawl string
		var vol taskserver.Volume
		if err := rows.Scan(&crawl, &vol.Submissions, &vol.Counted, &vol.Documents, &vol.Tokens); err != nil {
			return nil, err
		}
		get(crawl).Volume = vol
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]taskserver.CrawlVolume, 0, len(byCrawl))
	for _, v := range byCrawl {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Crawl < out[j].Crawl })
	return out, nil
}

// VolumeSeries implements taskserver.Store.
func (s *Store) VolumeSeries(ctx context.Context, since time.Time, bucket time.Duration) ([]taskserver.VolumeBucket, error) {
	b := bucket.Milliseconds()
	if b <= 0 {
		return nil, fmt.Errorf("bucket %s: %w", bucket, errors.New("must be positive"))
	}
	rows, err := s.r.QueryContext(ctx, `SELECT (decided_at / $1) * $1 AS start, count(*), count(documents), coalesce(sum(documents), 0), coalesce(sum(tokens), 0)
		FROM leases WHERE decision = 'accepted' AND decided_at >= $2 GROUP BY start ORDER BY start`, b, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.VolumeBucket
	for rows.Next() {
		var vb taskserver.VolumeBucket
		var start int64
		if err := rows.Scan(&start, &vb.Submissions, &vb.Counted, &vb.Documents, &vb.Tokens); err != nil {
			return nil, err
		}
		vb.Start = fromMS(start)
		out = append(out, vb)
	}
	return out, rows.Err()
}

// Validators implements taskserver.Store.
func (s *Store) Validators(ctx context.Context, since time.Time) ([]taskserver.ValidatorActivity, error) {
	by := map[string]*taskserver.ValidatorActivity{}
	get := func(hk string) *taskserver.ValidatorActivity {
		v := by[hk]
		if v == nil {
			v = &taskserver.ValidatorActivity{Hotkey: hk}
			by[hk] = v
		}
		return v
	}
	rows, err := s.r.QueryContext(ctx, `SELECT validator, count(*), max(at) FROM reports WHERE at >= $1 GROUP BY validator`, ms(since))
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var hk string
		var n, last int64
		if err := rows.Scan(&hk, &n, &last); err != nil {
			rows.Close()
			return nil, err
		}
		v := get(hk)
		v.Reports, v.LastReport = n, fromMS(last)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.r.QueryContext(ctx, `SELECT s.validator, count(*), sum(s.accepted),
			sum(CASE WHEN l.decision IN ('accepted', 'rejected') THEN 1 ELSE 0 END),
			sum(CASE WHEN (l.decision = 'accepted' AND s.accepted = 1) OR (l.decision = 'rejected' AND s.accepted = 0) THEN 1 ELSE 0 END),
			max(s.at)
		FROM scores s LEFT JOIN leases l ON l.id = s.lease_id WHERE s.at >= $1 GROUP BY s.validator`, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var hk string
		var n, acc, decided, agreed, last int64
		if err := rows.Scan(&hk, &n, &acc, &decided, &agreed, &last); err != nil {
			return nil, err
		}
		v := get(hk)
		v.Released, v.Accepts, v.Decided, v.Agreed = n, acc, decided, agreed
		// Scores published directly (imports) have no report.
		v.Reports = max(v.Reports, n)
		if t := fromMS(last); t.After(v.LastReport) {
			v.LastReport = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]taskserver.ValidatorActivity, 0, len(by))
	for _, v := range by {
		out = append(out, *v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Hotkey < out[j].Hotkey })
	return out, nil
}

// EventsOf implements taskserver.Store.
func (s *Store) EventsOf(ctx context.Context, before int64, limit int, kinds []string) ([]taskserver.Event, error) {
	q := `SELECT id, at, block, kind, task_id, lease_id, hotkey, detail FROM events`
	args := []any{limit}
	var where []string
	if before > 0 {
		args = append(args, before)
		where = append(where, "id < $"+strconv.Itoa(len(args)))
	}
	if len(kinds) > 0 {
		ph := make([]string, len(kinds))
		for i, k := range kinds {
			args = append(args, k)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		where = append(where, "kind IN ("+strings.Join(ph, ", ")+")")
	}
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT $1`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []taskserver.Event
	for rows.Next() {
		var e taskserver.Event
		var at, block int64
		var task, lease sql.NullInt64
		var hotkey, detail sql.NullString
		if err := rows.Scan(&e.ID, &at, &block, &e.Kind, &task, &lease, &hotkey, &detail); err != nil {
			return nil, err
		}
		e.At, e.Block, e.TaskID, e.LeaseID = fromMS(at), uint64(block), task.Int64, lease.Int64
		e.Hotkey, e.Detail = hotkey.String, detail.String
		out = append(out, e)
	}
	return out, rows.Err()
}
