package v1alpha1

// LaunchTasksAnnotation, set on a Task that names offers, is the number of
// Tasks a framework creates together on the same offers (the same
// spec.offers), for example "3". The master binds tasks that share offers
// together, and a task that arrives after its offers were accepted for others
// is dropped; with this annotation the master waits until it has seen every
// task of the launch (or none appeared for a minute) instead of guessing
// from a short quiet period. Frameworks that create one task per offer need
// not set it.
const LaunchTasksAnnotation = "meseta.dev/launch-tasks"
