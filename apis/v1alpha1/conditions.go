package v1alpha1

// Condition types and reasons of Meseta's kinds. Every status carries
// []metav1.Condition; a condition's Type is one of the *Condition constants below
// and its Reason one of the *Reason constants (or another CamelCase word when none
// fits). Phases and states are derived from these and from what the agent reports.

// Node conditions.
const (
	// NodeReadyCondition is True while the node's agent heartbeats and reports that
	// it can run tasks. The allocator makes offers only on ready nodes.
	NodeReadyCondition = "Ready"
	// NodeDrainedCondition is True when a drain requested through spec.drain has
	// finished: no offers are outstanding and no task is left on the node.
	NodeDrainedCondition = "Drained"

	// NodeAgentReadyReason says the agent heartbeats and its runtime works.
	NodeAgentReadyReason = "AgentReady"
	// NodeAgentNotReadyReason says the agent heartbeats but reports that it cannot
	// run tasks (for example, the OCI runtime is missing); the message says why.
	NodeAgentNotReadyReason = "AgentNotReady"
	// NodeAgentUnreachableReason says the agent's Lease was not renewed within the
	// master's --node-timeout.
	NodeAgentUnreachableReason = "AgentUnreachable"
	// NodeAgentGoneReason says the node was declared gone: its tasks are Gone and it
	// will not be trusted again under this name until it re-registers.
	NodeAgentGoneReason = "AgentGone"
	// NodeDrainingReason says a drain is in progress (Drained is False).
	NodeDrainingReason = "Draining"
	// NodeDrainCompleteReason says the drain finished (Drained is True).
	NodeDrainCompleteReason = "DrainComplete"
	// NodeAgentReconnectedReason says the master saw the node's Lease renewed
	// again after it had marked the node unreachable or gone; the agent replaces
	// it with its own Ready condition at its next status update.
	NodeAgentReconnectedReason = "AgentReconnected"
)

// Role conditions.
const (
	// RoleLimitReachedCondition is True while the role's allocation has reached its
	// limit in some resource, so it receives no further offers of that resource.
	RoleLimitReachedCondition = "LimitReached"
	// RoleGuaranteeMetCondition is True while the role holds at least its guarantee,
	// or wants no more than it holds.
	RoleGuaranteeMetCondition = "GuaranteeMet"

	// RoleAtLimitReason says the allocation equals the limit in some resource.
	RoleAtLimitReason = "AtLimit"
	// RoleUnderLimitReason says the allocation is below the limit in every resource.
	RoleUnderLimitReason = "UnderLimit"
	// RoleGuaranteeSatisfiedReason says the guarantee is allocated.
	RoleGuaranteeSatisfiedReason = "GuaranteeSatisfied"
	// RoleBelowGuaranteeReason says the role holds less than its guarantee and is
	// offered resources before roles that are not below theirs.
	RoleBelowGuaranteeReason = "BelowGuarantee"

	// RoleParentExistsCondition is False when the role's name is nested
	// ("eng.frontend") and no Role object of its parent ("eng") exists, so that
	// the parent has weight 1, no limit and no guarantee.
	RoleParentExistsCondition = "ParentExists"

	// RoleTopLevelReason says the role is not nested: it has no parent.
	RoleTopLevelReason = "TopLevel"
	// RoleParentFoundReason says the Role object of the parent exists.
	RoleParentFoundReason = "ParentFound"
	// RoleParentMissingReason says no Role object of the parent exists.
	RoleParentMissingReason = "ParentMissing"
)

// Framework conditions.
const (
	// FrameworkActiveCondition is True while the framework's Lease (a
	// coordination.k8s.io/v1 Lease named like the Framework, in its namespace) is
	// held and fresh.
	FrameworkActiveCondition = "Active"
	// FrameworkTornDownCondition is True once the framework stayed inactive for
	// longer than its failoverTimeout and the master tore it down.
	FrameworkTornDownCondition = "TornDown"

	// FrameworkLeaseHeldReason says the Lease is renewed in time.
	FrameworkLeaseHeldReason = "LeaseHeld"
	// FrameworkLeaseMissingReason says no Lease exists for the framework.
	FrameworkLeaseMissingReason = "LeaseMissing"
	// FrameworkLeaseExpiredReason says the Lease was not renewed within its
	// leaseDurationSeconds.
	FrameworkLeaseExpiredReason = "LeaseExpired"
	// FrameworkFailoverTimeoutExpiredReason says the framework was torn down: its
	// offers were rescinded and its tasks killed.
	FrameworkFailoverTimeoutExpiredReason = "FailoverTimeoutExpired"
	// FrameworkFailoverPendingReason says the framework is inactive and will be
	// torn down when its failoverTimeout runs out unless its Lease is renewed
	// (TornDown is False); the message says when.
	FrameworkFailoverPendingReason = "FailoverPending"
)

// FrameworkFinalizer keeps a deleted Framework until its tasks are gone: the
// master deletes them first (their agents kill them), then removes it.
const FrameworkFinalizer = "meseta.dev/framework"

// Offer conditions are not used: an offer's life is told by status.phase and
// status.reason, whose values are the OfferPhase and OfferReason constants.

// Task conditions.
const (
	// TaskBoundCondition is True once the master has checked the task's offers and
	// bound it to their node (spec.nodeName), False when it refused them.
	TaskBoundCondition = "Bound"
	// TaskHealthyCondition mirrors status.healthy for tasks with a health check.
	TaskHealthyCondition = "Healthy"
	// TaskEvictedCondition is True once the master evicted the task from its
	// node (it deletes the task right after): its Reason is the TaskReason the
	// agent reports when it has killed the task (ReasonAgentDrained for a
	// drained node) and its Message says why. A task deleted without it ends
	// with ReasonKillRequested.
	TaskEvictedCondition = "Evicted"

	// TaskOffersAcceptedReason says the task's offers were valid and accepted.
	TaskOffersAcceptedReason = "OffersAccepted"
	// TaskHealthCheckPassedReason says the last health check succeeded.
	TaskHealthCheckPassedReason = "HealthCheckPassed"
	// TaskHealthCheckFailedReason says the last health check failed.
	TaskHealthCheckFailedReason = "HealthCheckFailed"
	// TaskHealthCheckPendingReason says no health check has finished yet, or the
	// task is still in its grace period.
	TaskHealthCheckPendingReason = "HealthCheckPending"
)

// App conditions.
const (
	// AppAvailableCondition is True while at least minimumHealthCapacity percent of
	// the app's instances run (and are healthy, when the template has a health
	// check).
	AppAvailableCondition = "Available"
	// AppProgressingCondition is True while a deployment (scaling, or replacing tasks
	// after a template change) is under way; False once it is complete
	// (DeploymentComplete) or has failed (DeploymentFailed).
	AppProgressingCondition = "Progressing"

	// AppMinimumCapacityReason says enough instances are running.
	AppMinimumCapacityReason = "MinimumCapacity"
	// AppInsufficientCapacityReason says fewer instances run than the upgrade
	// strategy's minimum; the message tells how many.
	AppInsufficientCapacityReason = "InsufficientCapacity"
	// AppDeploymentInProgressReason says a deployment is being rolled out.
	AppDeploymentInProgressReason = "DeploymentInProgress"
	// AppDeploymentCompleteReason says the latest deployment finished.
	AppDeploymentCompleteReason = "DeploymentComplete"
	// AppDeploymentFailedReason says the latest deployment cannot finish: an
	// instance of its version keeps failing (the message says how often, and
	// the last failure); the framework keeps relaunching it with backoff.
	AppDeploymentFailedReason = "DeploymentFailed"
	// AppBackingOffReason says task launches are delayed after repeated failures.
	AppBackingOffReason = "BackingOff"

	// AppPlacedCondition is True while every instance the app wants has a task;
	// False while some wait, with a message that says in words why they are not
	// placed (which resource no offer holds enough of, where; which constraint
	// cannot be met; the backoff).
	AppPlacedCondition = "Placed"

	// AppAllPlacedReason says no instance waits for an offer.
	AppAllPlacedReason = "AllPlaced"
	// AppWaitingForOffersReason says instances wait for offers: none came yet,
	// or the offers that fit went to other tasks first.
	AppWaitingForOffersReason = "WaitingForOffers"
	// AppNoOfferFitsReason says no offered node has the resources an instance
	// needs; the message names the short resources and the largest offers.
	AppNoOfferFitsReason = "NoOfferFits"
	// AppConstraintNotMetReason says no offered node keeps the app's
	// constraints; the message names the constraint.
	AppConstraintNotMetReason = "ConstraintNotMet"
)

// AppFinalizer keeps a deleted App until the apps framework has killed its
// tasks and they are gone, so that no container outlives its App.
const AppFinalizer = "meseta.dev/app"

// Job conditions.
const (
	// JobCompleteCondition is True once the job has had spec.completions successful
	// tasks. It never becomes False again.
	JobCompleteCondition = "Complete"
	// JobFailedCondition is True once the job gave up: it exceeded its backoffLimit
	// or its activeDeadlineSeconds. It never becomes False again.
	JobFailedCondition = "Failed"
	// JobSuspendedCondition is True while spec.suspend is set.
	JobSuspendedCondition = "Suspended"

	// JobCompletionsReachedReason says enough tasks succeeded.
	JobCompletionsReachedReason = "CompletionsReached"
	// JobBackoffLimitExceededReason says more tasks failed than backoffLimit allows.
	JobBackoffLimitExceededReason = "BackoffLimitExceeded"
	// JobDeadlineExceededReason says the job ran longer than activeDeadlineSeconds.
	JobDeadlineExceededReason = "DeadlineExceeded"
	// JobSuspendedReason says the job is suspended through spec.suspend.
	JobSuspendedReason = "JobSuspended"
	// JobResumedReason says the job was suspended and has been resumed.
	JobResumedReason = "JobResumed"
)
