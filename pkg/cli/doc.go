// Package cli builds mesetactl: kubectl's command tree (apply, get, describe,
// delete, wait, diff, explain, auth, ...) pointed at a Meseta cluster, with
// Meseta's own versions of the commands whose kubectl meaning is about pods and
// Kubernetes nodes (cordon, uncordon, drain, logs, top).
//
// The kubeconfig comes from --kubeconfig, else $KUBECONFIG, else
// ~/.meseta/kubeconfig (which `meseta dev` writes).
package cli
