package miner

import (
	"context"

	"github.com/datarefine/refine/taskapi"
	"github.com/datarefine/refine/taskserver/client"
)

// ClientTasks adapts the task server's Go client to Tasks.
type ClientTasks struct{ C *client.Client }

var _ Tasks = ClientTasks{}

// Ping implements Tasks.
func (t ClientTasks) Ping(ctx context.Context) error { return t.C.Ping(ctx) }

// Lease implements Tasks.
func (t ClientTasks) Lease(ctx context.Context) (taskapi.Lease, taskapi.Task, error) {
	r, err := t.C.Lease(ctx)
	return r.Lease, r.Task, err
}

// Heartbeat implements Tasks.
func (t ClientTasks) Heartbeat(ctx context.Context, id int64) (taskapi.Lease, error) {
	return t.C.Heartbeat(ctx, id)
}

// Complete implements Tasks.
func (t ClientTasks) Complete(ctx context.Context, id int64, commitment string, block uint64) (taskapi.Lease, error) {
	return t.C.Complete(ctx, id, commitment, block)
}

// Release implements Tasks.
func (t ClientTasks) Release(ctx context.Context, id int64) (taskapi.Lease, error) {
	return t.C.Release(ctx, id)
}
