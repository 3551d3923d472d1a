package security

import "strings"

// Names of Meseta's identities and groups (contract: the RBAC manifests and
// admission policies use the same strings).
const (
	// NodesGroup is the group of every agent.
	NodesGroup = "meseta:nodes"
	// NodeUserPrefix starts the user name of an agent: meseta:node:<node name>.
	NodeUserPrefix = "meseta:node:"
	// FrameworksGroup is the group of framework identities that are not
	// service accounts (client certificates minted for a framework).
	FrameworksGroup = "meseta:frameworks"
	// AgentBootstrapGroup is the extra group of agent bootstrap tokens; it may
	// ask for node client certificates and nothing else.
	AgentBootstrapGroup = "system:bootstrappers:meseta:agents"
	// NodeBootstrapGroupPrefix followed by a node name is the extra group of a
	// bootstrap token restricted to that one node.
	NodeBootstrapGroupPrefix = "system:bootstrappers:meseta:node:"
	// FieldManager owns the objects the master applies.
	FieldManager = "meseta-master"
)

// Meseta's ClusterRoles (contract).
const (
	ViewerRole    = "meseta:viewer"
	OperatorRole  = "meseta:operator"
	AdminRole     = "meseta:admin"
	FrameworkRole = "meseta:framework"
	NodeRole      = "meseta:node"
)

// NodeUser returns the user name of the agent of node.
func NodeUser(node string) string { return NodeUserPrefix + node }

// NodeFromUser returns the node whose agent user is the given user name, and
// whether it is an agent's user name at all.
func NodeFromUser(user string) (string, bool) {
	node, ok := strings.CutPrefix(user, NodeUserPrefix)
	return node, ok && node != ""
}
