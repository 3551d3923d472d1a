#!/bin/sh
# A Meseta framework written with kubectl alone.
#
# It registers (a Lease and a Framework), watches its offers, declines the
# first one it gets for a second to show how, and launches one task on the
# next. Run it against any cluster kubectl reaches:
#
#   NAMESPACE=default FRAMEWORK=shell ./framework.sh
#
# Settings (environment): NAMESPACE, FRAMEWORK (its name), IMAGE (the task's
# image), COMMAND (the task's shell command), KUBECTL (the kubectl to use).
set -eu

ns=${NAMESPACE:-default}
name=${FRAMEWORK:-shell}
image=${IMAGE:-oci:/var/lib/meseta/images/busybox}
command=${COMMAND:-echo hello from a kubectl framework; exec sleep 3600}
kubectl=${KUBECTL:-kubectl}
task=$name-hello

say() { echo "$name: $*"; }

# Register: the framework is active while its Lease is fresh. A real framework
# renews renewTime; this one takes a Lease of an hour.
$kubectl apply -f - <<EOF
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: $name, namespace: $ns}
spec: {holderIdentity: $name, leaseDurationSeconds: 3600}
---
apiVersion: meseta.dev/v1alpha1
kind: Framework
metadata: {name: $name, namespace: $ns}
spec: {failoverTimeout: 1h}
EOF

# next_offer prints the name of an outstanding offer of this framework other
# than $1, waiting for one to appear.
next_offer() {
	while :; do
		offer=$($kubectl get offers -n "$ns" --field-selector "spec.framework=$name" \
			-o jsonpath='{range .items[*]}{.metadata.name}|{.status.phase}|{.spec.decline}{"\n"}{end}' |
			awk -F'|' -v skip="$1" '$1 != skip && ($2 == "" || $2 == "Outstanding") && $3 == "" {print $1; exit}')
		if [ -n "$offer" ]; then
			echo "$offer"
			return
		fi
		sleep 0.5
	done
}

first=$(next_offer "")
say "declining offer $first"
$kubectl patch offer "$first" -n "$ns" --type merge -p '{"spec":{"decline":{"refuseSeconds":1}}}'

second=$(next_offer "$first")
say "launching $task on offer $second"
$kubectl create -f - <<EOF
apiVersion: meseta.dev/v1alpha1
kind: Task
metadata: {name: $task, namespace: $ns}
spec:
  framework: $name
  offers: [$second]
  resources: {cpus: "0.1", mem: 32Mi}
  container:
    image: "$image"
    command: [sh, -c, "$command"]
EOF

$kubectl wait "task/$task" -n "$ns" --for=jsonpath='{.status.state}'=Running --timeout=120s
say "$task is Running"
