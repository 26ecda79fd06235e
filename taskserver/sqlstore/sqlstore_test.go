package sqlstore_test

import (
	"testing"

	"github.com/datarefine/refine/taskserver"
	"github.com/datarefine/refine/taskserver/internal/dbtest"
	"github.com/datarefine/refine/taskserver/storetest"
)

func TestConformance(t *testing.T) {
	for _, kind := range dbtest.Backends {
		t.Run(kind, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) taskserver.Store { return dbtest.Open(t, kind) })
		})
	}
}
