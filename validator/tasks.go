package validator

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/datarefine/refine/chain"
	"github.com/datarefine/refine/taskserver"
)

// StoreTaskServer serves the validator from a task server's Store in the
// same process (the devnet and tests), stamping reports with the chain head.
// Over the network use taskserver/client.Client, which signs every call.
type StoreTaskServer struct {
	Store     taskserver.Store
	Validator string       // the validator's hotkey, recorded with reports
	Chain     chain.Client // stamps reports with the head block (optional)
}

// Task implements TaskServer.
func (s StoreTaskServer) Task(ctx context.Context, id int64) (taskserver.TaskResponse, error) {
	t, ls, err := s.Store.Task(ctx, id)
	return taskserver.TaskResponse{Task: t, Leases: ls}, err
}

// ReportScore implements TaskServer.
func (s StoreTaskServer) ReportScore(ctx context.Context, hotkey string, taskID int64, score float64, detail any) (taskserver.Score, error) {
	raw, err := json.Marshal(detail)
	if err != nil {
		return taskserver.Score{}, fmt.Errorf("encode detail: %w", err)
	}
	sc := taskserver.Score{Validator: s.Validator, Hotkey: hotkey, TaskID: taskID, Score: score, Detail: string(raw)}
	if s.Chain != nil {
		if b, err := s.Chain.Block(ctx); err == nil {
			sc.Block = b.Number
		}
	}
	return s.Store.AddScore(ctx, sc)
}
