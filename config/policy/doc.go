// Package policy embeds Meseta's cluster policies beside RBAC: the
// ValidatingAdmissionPolicies that restrict what agents, frameworks and people
// may change (admission.yaml), the API priority and fairness levels that keep
// agents' heartbeats flowing under load (flowcontrol.yaml), and the default
// audit policy (audit/audit-policy.yaml). The master applies the first two at
// every start and writes the audit policy to its data dir when --audit-log is set
// (see meseta.dev/meseta/pkg/security).
package policy
