package cli

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// metav1PatchOptions identifies mesetactl as the field manager of its patches.
var metav1PatchOptions = metav1.PatchOptions{FieldManager: "mesetactl"}
