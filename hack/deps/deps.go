//go:build deps

// Package deps pins modules needed before code imports them.
package deps

import (
	_ "github.com/onsi/gomega"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/kubernetes/pkg/controlplane/apiserver/samples/generic/server"
	_ "sigs.k8s.io/controller-runtime"
)

import (
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/opencontainers/runtime-spec/specs-go"
	_ "github.com/robfig/cron/v3"
	_ "k8s.io/kubernetes/pkg/controller/garbagecollector"
	_ "k8s.io/kubernetes/pkg/controller/namespace"
	_ "k8s.io/kubernetes/pkg/controller/serviceaccount"
)
