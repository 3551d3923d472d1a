// Package controllers lists Meseta's controllers. Each controller lives in its own
// package below this one; All returns them in the order the master registers them
// with its leader-elected manager.
package controllers
