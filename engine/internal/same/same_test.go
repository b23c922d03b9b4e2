package same

import (
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
