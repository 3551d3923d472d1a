package tasks

import (
	"fmt"

	"meseta.dev/meseta/pkg/resources"
)

// Fit checks that a task asking for want can run beside tasks already using
// inUse on a node with allocatable resources: every scalar must fit in what is
// free, and every port the task asks for must be allocatable and not taken. The
// error says what is short; callers report it with reason Overcommitted.
func Fit(allocatable, inUse, want resources.Vector) error {
	free := allocatable.Sub(inUse)
	if free.Contains(want) {
		return nil
	}
	short := free.Shortfall(want)
	return fmt.Errorf("the node cannot hold the task without going past its allocatable resources: "+
		"it asks for %s, %s short (free: %s of %s allocatable)", want, short, free, allocatable)
}
