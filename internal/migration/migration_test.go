package migration

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	ms, err := Load(fstest.MapFS{
		"m/0002_b.sql": {Data: []byte("B")},
		"m/0001_a.sql": {Data: []byte("A")},
		"m/0010_c.sql": {Data: []byte("C")},
		"m/README.md":  {Data: []byte("not a migration")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, m.Name+"="+m.SQL)
	}
	if strings.Join(got, " ") != "0001_a.sql=A 0002_b.sql=B 0010_c.sql=C" {
		t.Fatalf("Load = %v", got)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"unnumbered": {"m/a.sql": {}},
		"zero":       {"m/0000_a.sql": {}},
		"duplicate":  {"m/0001_a.sql": {}, "m/001_b.sql": {}},
	} {
		if _, err := Load(fsys, "m"); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}
