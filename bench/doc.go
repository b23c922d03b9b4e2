// Package bench holds Roster's benchmarks. They start real servers and drive
// them through the HTTP client or the engine; run the approvals benchmark with
//
//	go test ./bench -run '^$' -bench Approvals -benchtime 2000x
//
// and the scale benchmarks (steady-state sync, apply of a large file, many
// profiles enabled at once, lists on large data), which build their
// organisations with package bench/gen, with
//
//	ROSTER_BENCH_PRESETS=small,small20k,medium ROSTER_BENCH_CACHE=/tmp/rbcache \
//	  go test ./bench -run '^$' -bench 'SteadyState|ApplyFile|EnableAtOnce|ListLargeData' -benchtime 1x -count 3 -timeout 3h
//
// Issue 18's 300 profiles switched on by one `roster apply` (dense20k: 2M
// tasks; its plan's summary, then the apply, on a server running its
// background work) is
//
//	ROSTER_BENCH_PRESETS=dense20k ROSTER_BENCH_CACHE=/tmp/rbcache \
//	  go test ./bench -run '^$' -bench EnableByApply -benchtime 1x -timeout 1h
//
// Each iteration of a scale benchmark is one whole measurement. See
// cmd/rosterbench to generate the same organisations by hand.
package bench
