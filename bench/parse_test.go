package bench

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/rosterhq/roster/bench/gen"
	"github.com/rosterhq/roster/declarative"
)

// BenchmarkParseFile times the validation of a generated declarative file
// alone (declarative.Parse: YAML decoding and every check), the first part of
// `roster apply`, and reports the heap it peaks at.
func BenchmarkParseFile(b *testing.B) {
	for _, preset := range presets(b, "small", "medium", "large") {
		org := gen.Generate(presetConfig(b, preset))
		var buf bytes.Buffer
		if err := org.WriteYAML(&buf); err != nil {
			b.Fatal(err)
		}
		doc := buf.Bytes()
		b.Run(preset, func(b *testing.B) {
			b.Logf("%s, file %d MiB", org.Stats(), len(doc)>>20)
			var peak uint64
			for i := 0; i < b.N; i++ {
				if _, err := declarative.Parse(preset+".yaml", doc, nil); err != nil {
					b.Fatal(err)
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapSys)
			}
			b.ReportMetric(float64(peak)/(1<<20), "heap-MiB")
		})
	}
}
