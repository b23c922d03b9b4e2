// Package e2e holds Roster's end-to-end tests: each starts the real server on a
// free port with a temporary SQLite database and a manual clock, and drives it
// through the roster command line, exactly as an admin would.
package e2e
