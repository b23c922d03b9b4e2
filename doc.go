// Package roster is the domain model of Roster, a self-hosted access-governance
// service: users, apps, entitlements, grants and their sources, approval policies,
// tasks, access profiles and their membership automation.
//
// The root package holds the types, their validation, the error type and the
// interfaces that adapters implement: Store (sqlite, postgres) and Service (the
// engine on the server, the HTTP client in the CLI). It has no SQL and no HTTP.
package roster
