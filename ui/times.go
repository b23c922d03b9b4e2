package ui

import (
	"bytes"
	"html/template"
	"net/http"
	"time"
	_ "time/tzdata" // the viewer's zone is found without the system's zone files

	"github.com/rosterhq/roster"
)

// Times are written in pages as <time> elements in UTC (the when template
// function); render then shows each in the viewer's time zone with its age
// beside it ("3 days ago"), so every page says times the same way.

// timeLayout is how a page shows a time, in the viewer's zone.
const timeLayout = "2006-01-02 15:04 MST"

// tzCookie is the cookie in which the console's script keeps the browser's
// time zone (static/tz.js).
const tzCookie = "tz"

// whenHTML is a <time> element for t in UTC; noAge leaves its age out, for
// where the page says it already ("waiting 3 days (since …)").
func whenHTML(t time.Time, noAge bool) template.HTML {
	if t.IsZero() {
		return "—"
	}
	attr := ""
	if noAge {
		attr = ` data-ago="off"`
	}
	return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `"` + attr + `>` + t.UTC().Format(timeLayout) + `</time>`)
}

// timeOf returns what a template passed to when: a time, a pointer to one
// (nil for none), or anything else (zero).
func timeOf(v any) time.Time {
	switch t := v.(type) {
	case time.Time:
		return t
	case *time.Time:
		if t != nil {
			return *t
		}
	}
	return time.Time{}
}

// viewerZone is the time zone of the person reading the page: their
// timezone attribute, else the zone their browser said (the tz cookie),
// else UTC. A zone that is not known is ignored.
func viewerZone(r *http.Request, me *roster.User) *time.Location {
	var names []string
	if me != nil && me.Attributes["timezone"] != "" {
		names = append(names, me.Attributes["timezone"])
	}
	if c, err := r.Cookie(tzCookie); err == nil {
		names = append(names, c.Value)
	}
	for _, name := range names {
		if name == "" || name == "Local" {
			continue
		}
		if loc, err := time.LoadLocation(name); err == nil {
			return loc
		}
	}
	return time.UTC
}

// ago says how long before now t was ("2 hours ago"), or how long after
// ("in 3 days").
func ago(now, t time.Time) string {
	if t.After(now.Add(time.Minute)) {
		return "in " + age(t.Sub(now))
	}
	if d := now.Sub(t); d < time.Minute {
		return "just now"
	}
	return age(now.Sub(t)) + " ago"
}

// age is a duration in its largest whole unit: "3 days", "1 hour",
// "less than a minute".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute", "minutes")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour", "hours")
	}
	return plural(int(d/(24*time.Hour)), "day", "days")
}

// localTimes rewrites each <time datetime="…"> element of a rendered page:
// its text becomes the time in loc, followed by its age at now unless the
// element says data-ago="off".
func localTimes(page []byte, loc *time.Location, now time.Time) []byte {
	const open = `<time datetime="`
	if !bytes.Contains(page, []byte(open)) {
		return page
	}
	out := make([]byte, 0, len(page)+len(page)/20)
	rest := page
	for {
		i := bytes.Index(rest, []byte(open))
		if i < 0 {
			break
		}
		out = append(out, rest[:i]...)
		rest = rest[i:]
		q := bytes.IndexByte(rest[len(open):], '"')
		gt := bytes.IndexByte(rest, '>')
		end := bytes.Index(rest, []byte("</time>"))
		if q < 0 || gt < 0 || end < gt {
			break
		}
		t, err := time.Parse(time.RFC3339, string(rest[len(open):len(open)+q]))
		tag := rest[:gt+1]
		if err != nil {
			out = append(out, rest[:end+len("</time>")]...)
			rest = rest[end+len("</time>"):]
			continue
		}
		out = append(out, tag...)
		out = append(out, t.In(loc).Format(timeLayout)...)
		out = append(out, "</time>"...)
		if !bytes.Contains(tag, []byte(`data-ago="off"`)) {
			out = append(out, ` <span class="ago">(`...)
			out = append(out, ago(now, t)...)
			out = append(out, ")</span>"...)
		}
		rest = rest[end+len("</time>"):]
	}
	return append(out, rest...)
}
