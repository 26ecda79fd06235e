package verify

import (
	"github.com/datarefine/refine/taskapi"
)

// CheckLease applies the lease rules to a commitment of hotkey for task,
// made in block commitBlock with the on-chain string data, given the task's
// lease history from the task server. It returns the lease the commitment
// completes.
//
// The rules: the hotkey held a lease of the task; that lease was completed
// with exactly this commitment (so the task server saw it before the
// lease's deadline, which it enforces); the commitment landed on chain at
// or after the block the lease was granted in (no committing first and
// leasing later), and no later than graceBlocks after the block the lease
// was completed in (the completion is recorded after the chain inclusion,
// so a later commitment was made after the deadline or for another lease).
func CheckLease(hotkey, data string, commitBlock uint64, leases []taskapi.Lease, graceBlocks uint64) (taskapi.Lease, error) {
	var mine []taskapi.Lease
	for _, l := range leases {
		if l.Hotkey == hotkey {
			mine = append(mine, l)
		}
	}
	if len(mine) == 0 {
		return taskapi.Lease{}, Fail(CodeNotLeased, "hotkey never leased this task")
	}
	var done *taskapi.Lease
	for i := range mine {
		if mine[i].State == taskapi.LeaseCompleted && mine[i].Commitment == data {
			done = &mine[i]
			break
		}
	}
	if done == nil {
		last := mine[len(mine)-1]
		switch last.State {
		case taskapi.LeaseExpired:
			return taskapi.Lease{}, Fail(CodeAfterDeadline, "lease %d expired before completion", last.ID)
		case taskapi.LeaseLive:
			return taskapi.Lease{}, Fail(CodeNotLeased, "lease %d is still live: not completed with this commitment", last.ID)
		}
		return taskapi.Lease{}, Fail(CodeNotLeased, "no lease of this hotkey was completed with this commitment")
	}
	if commitBlock < done.GrantedBlock {
		return taskapi.Lease{}, Fail(CodeBeforeLease, "committed in block %d, lease %d granted in block %d", commitBlock, done.ID, done.GrantedBlock)
	}
	if done.EndedBlock > 0 && commitBlock > done.EndedBlock+graceBlocks {
		return taskapi.Lease{}, Fail(CodeAfterDeadline, "committed in block %d, lease %d completed in block %d (grace %d)", commitBlock, done.ID, done.EndedBlock, graceBlocks)
	}
	if done.EndedAt != nil && !done.Deadline.IsZero() && done.EndedAt.After(done.Deadline) {
		return taskapi.Lease{}, Fail(CodeAfterDeadline, "lease %d completed after its deadline", done.ID)
	}
	return *done, nil
}
