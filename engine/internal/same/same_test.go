package same

import (
	"fmt"
	"testing"
	"time"
)

func TestContent(t *testing.T) {
	type obj struct {
		ID        string            `json:"id"`
		Tags      []string          `json:"tags"`
		Attrs     map[string]string `json:"attrs"`
		On        bool              `json:"on"`
		CreatedAt time.Time         `json:"created_at"`
		UpdatedAt time.Time         `json:"updated_at"`
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		a, b obj
		want bool
	}{
		{"equal", obj{ID: "a", Tags: []string{"x"}}, obj{ID: "a", Tags: []string{"x"}}, true},
		{"timestamps aside", obj{ID: "a", CreatedAt: at}, obj{ID: "a", UpdatedAt: at}, true},
		{"nil and empty alike", obj{ID: "a", Tags: []string{}, Attrs: map[string]string{}}, obj{ID: "a"}, true},
		{"false and empty string are absent", obj{On: false}, obj{}, true},
		{"a field differs", obj{ID: "a"}, obj{ID: "b"}, false},
		{"a list differs", obj{Tags: []string{"x"}}, obj{Tags: []string{"y"}}, false},
		{"true is not absent", obj{On: true}, obj{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Content(tc.a, tc.b); got != tc.want {
				t.Errorf("Content(%+v, %+v) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestChanges(t *testing.T) {
	type obj struct {
		ID        string    `json:"id"`
		Role      string    `json:"role,omitempty"`
		Tags      []string  `json:"tags"`
		Secret    string    `json:"secret"`
		UpdatedAt time.Time `json:"updated_at"`
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := obj{ID: "a", Tags: []string{"x"}, Secret: "s1"}
	if d := Changes(a, obj{ID: "a", Tags: []string{"x"}, Secret: "s1", UpdatedAt: at}); d != nil {
		t.Fatalf("no change but the time: %+v", d)
	}
	d := Changes(a, obj{ID: "a", Role: "admin", Tags: []string{"x", "y"}, Secret: "s2"}, "secret")
	if d == nil {
		t.Fatal("no changes found")
	}
	if got, want := fmt.Sprint(d.Before), "map[role:<nil> tags:[x]]"; got != want {
		t.Errorf("before %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(d.After), "map[role:admin tags:[x y]]"; got != want {
		t.Errorf("after %s, want %s", got, want)
	}
}
