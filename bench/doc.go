// Package bench holds Roster's benchmarks. They start real servers and drive
// them through the HTTP client; run them with
//
//	go test ./bench -run '^$' -bench . -benchtime 2000x
package bench
