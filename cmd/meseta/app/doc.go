// Package app holds the command tree of the meseta binary: `meseta master`,
// `meseta agent`, `meseta dev` and `meseta version`.
package app
