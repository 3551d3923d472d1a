package apps

import (
	"cmp"
	"slices"
	"time"
)

// appSpec is the part of an App planning needs, defaults applied.
type appSpec struct {
	instances int32
	version   string
	capacity  capacity
	backoff   backoff
}

// launch is a task the App wants launched now: its sequence number and the
// failure streak it inherits.
type launch struct {
	seq      int
	failures int32
}

// appPlan is what an App should do now, and what it observed.
type appPlan struct {
	// launches are the tasks to launch now.
	launches []launch
	// delayed is how many launches wait for the backoff; requeueAfter says
	// until when.
	delayed int32
	// streak is the failures in a row of the current version.
	streak int32
	// failing is the longest failure streak an instance of the current
	// version is in and has not yet recovered from (see failingStreak).
	failing int32
	// kill are live tasks to kill: scaled down, replaced, unreachable.
	kill []string
	// cleanup are ended tasks that are no longer needed (a newer task carries
	// their failure streak), to delete.
	cleanup []string
	// requeueAfter is when to look again (the backoff ends, at launchAt);
	// zero for never.
	requeueAfter time.Duration
	launchAt     time.Time

	// counts are what the status reports.
	counts counts
	// lastFailure is the newest failed task, nil if none is left.
	lastFailure *taskRef
}

// counts are the App's tasks by kind.
type counts struct {
	// existing: tasks not ended (being killed and unreachable included).
	existing int32
	// running: tasks Running.
	running int32
	// healthy: live tasks Running and healthy.
	healthy int32
	// staged: live tasks not yet Running.
	staged int32
	// updated: live tasks of the current version; updatedHealthy of them
	// healthy.
	updated, updatedHealthy int32
	// old: tasks of another version not ended, being killed included.
	old int32
}

// planApp decides what an App does now, from its spec and its tasks, at now:
//  1. the current version's failure streak and the newest failure;
//  2. unreachable tasks are killed (and replaced: they do not count);
//  3. launches: up to instances live tasks of the current version, without
//     passing capacity.maxTotal tasks in all, unless the backoff delays them;
//  4. kills: current tasks beyond instances (staged and unhealthy first, then
//     the newest), old tasks that are not healthy, and then as many healthy
//     old tasks (oldest first) as keep capacity.minHealthy healthy;
//  5. ended tasks are cleaned up once a newer task carries their streak.
func planApp(spec appSpec, tasks []taskRef, now time.Time) appPlan {
	var p appPlan
	tasks = slices.Clone(tasks)
	slices.SortFunc(tasks, func(a, b taskRef) int { return cmp.Compare(a.seq, b.seq) })
	p.counts = countTasks(spec.version, tasks)

	lastFailAt := p.failures(spec, tasks)
	for _, t := range tasks {
		if t.unreachable() && !t.deleting {
			p.kill = append(p.kill, t.name)
		}
	}
	p.planLaunches(spec, tasks, lastFailAt, now)
	p.failing = p.failingStreak(spec.version, tasks)
	p.planKills(spec, tasks)
	p.cleanup = cleanups(spec.version, tasks, spec.backoff.resetAfter)
	return p
}

// countTasks counts the tasks by kind.
func countTasks(version string, tasks []taskRef) counts {
	var c counts
	for _, t := range tasks {
		if t.terminal() {
			continue
		}
		c.existing++
		if t.running() {
			c.running++
		}
		if t.isHealthy() {
			c.healthy++
		}
		if t.staged() {
			c.staged++
		}
		switch {
		case t.version != version:
			c.old++
		case t.live():
			c.updated++
			if t.isHealthy() {
				c.updatedHealthy++
			}
		}
	}
	return c
}

// failures sets the streak and the last failure, and returns when the
// current version last failed.
func (p *appPlan) failures(spec appSpec, tasks []taskRef) time.Time {
	var lastFailAt time.Time
	for i, t := range tasks {
		if !t.failure() {
			continue
		}
		if p.lastFailure == nil || !t.finishedAt.Before(p.lastFailure.finishedAt) {
			p.lastFailure = &tasks[i]
		}
		if t.version != spec.version {
			continue
		}
		p.streak = max(p.streak, t.streak(spec.backoff.resetAfter))
		if t.finishedAt.After(lastFailAt) {
			lastFailAt = t.finishedAt
		}
	}
	return lastFailAt
}

// planLaunches sets the launches, or the delayed ones.
func (p *appPlan) planLaunches(spec appSpec, tasks []taskRef, lastFailAt, now time.Time) {
	var total int32
	nextSeq := 0
	for _, t := range tasks {
		if t.counted() {
			total++
		}
		nextSeq = max(nextSeq, t.seq+1)
	}
	n := min(spec.instances-p.counts.updated, spec.capacity.maxTotal-total)
	if n <= 0 {
		return
	}
	if at := lastFailAt.Add(spec.backoff.delay(p.streak)); p.streak > 0 && at.After(now) {
		p.delayed, p.launchAt, p.requeueAfter = n, at, at.Sub(now)
		return
	}
	for i := range int(n) {
		p.launches = append(p.launches, launch{seq: nextSeq + i, failures: p.streak})
	}
}

// failingStreak returns the longest failure streak an instance of version is
// in: a live task relaunched after failures carries its streak until it is
// healthy, and launches planned or delayed after failures carry the version's.
func (p *appPlan) failingStreak(version string, tasks []taskRef) int32 {
	var n int32
	if p.delayed > 0 || len(p.launches) > 0 {
		n = p.streak
	}
	for _, t := range tasks {
		if t.version == version && t.live() && !t.isHealthy() {
			n = max(n, t.failures)
		}
	}
	return n
}

// planKills sets the kills of scaling down and of replacing old tasks.
func (p *appPlan) planKills(spec appSpec, tasks []taskRef) {
	var current, oldUnhealthy, oldHealthy []taskRef
	for _, t := range tasks {
		switch {
		case !t.live():
		case t.version == spec.version:
			current = append(current, t)
		case t.isHealthy():
			oldHealthy = append(oldHealthy, t)
		default:
			oldUnhealthy = append(oldUnhealthy, t)
		}
	}
	healthy := p.counts.healthy
	if extra := len(current) - int(spec.instances); extra > 0 {
		// Staged and unhealthy first, then the newest.
		slices.SortStableFunc(current, func(a, b taskRef) int {
			if a.isHealthy() != b.isHealthy() {
				if a.isHealthy() {
					return 1
				}
				return -1
			}
			return cmp.Compare(b.seq, a.seq)
		})
		for _, t := range current[:extra] {
			p.kill = append(p.kill, t.name)
			if t.isHealthy() {
				healthy--
			}
		}
	}
	for _, t := range oldUnhealthy {
		p.kill = append(p.kill, t.name)
	}
	// Oldest first: tasks are sorted by seq.
	for _, t := range oldHealthy {
		if healthy <= spec.capacity.minHealthy {
			break
		}
		p.kill = append(p.kill, t.name)
		healthy--
	}
}

// cleanups returns the ended tasks to delete: those with a newer task that
// inherited at least their streak (so the backoff does not need them; the
// streak of another version than the current one is not needed at all), not
// being deleted already.
func cleanups(version string, tasks []taskRef, resetAfter time.Duration) []string {
	var out []string
	for _, t := range tasks {
		if !t.terminal() || t.deleting {
			continue
		}
		s := t.streak(resetAfter)
		if t.version != version {
			s = 0
		}
		for _, u := range tasks {
			if u.seq > t.seq && u.failures >= s {
				out = append(out, t.name)
				break
			}
		}
	}
	return out
}
