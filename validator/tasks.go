package validator

import (
	"context"

	"github.com/datarefine/refine/taskserver"
)

// StoreTaskServer serves the validator from a task server's Service in the
// same process (tests), as the validator's hotkey. Over the network use
// taskserver/client.Client, which signs every call.
type StoreTaskServer struct {
	Service   *taskserver.Service
	Validator string // the validator's hotkey, recorded with reports
}

// Task implements TaskServer.
func (s StoreTaskServer) Task(ctx context.Context, id int64) (taskserver.TaskResponse, error) {
	t, ls, err := s.Service.Store().Task(ctx, id)
	return taskserver.TaskResponse{Task: t, Leases: ls}, err
}

// Submissions implements TaskServer.
func (s StoreTaskServer) Submissions(ctx context.Context, after int64, limit int) ([]taskserver.Completion, error) {
	return s.Service.Store().Submissions(ctx, after, limit)
}

// Report implements TaskServer.
func (s StoreTaskServer) Report(ctx context.Context, b taskserver.ScoreBody) (taskserver.ReportResponse, error) {
	r, l, err := s.Service.Report(ctx, s.Validator, taskserver.Report{LeaseID: b.LeaseID, TaskID: b.TaskID, Hotkey: b.Hotkey,
		Commitment: b.Commitment, Accepted: b.Accepted, Score: b.Score, Detail: string(b.Detail), WeightsRound: b.WeightsRound})
	return taskserver.ReportResponse{Report: r, Lease: l}, err
}

// ReleaseScores implements TaskServer.
func (s StoreTaskServer) ReleaseScores(ctx context.Context, through int64) (int, error) {
	return s.Service.ReleaseReports(ctx, s.Validator, through)
}
