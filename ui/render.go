package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// views holds one parsed template set per screen: the layout, the shared
// partials and the screen's own file.
type views struct {
	pages map[string]*template.Template
}

// parseViews parses every template once.
func parseViews() (*views, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("ui: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: list templates: %w", err)
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, name := range names {
		file := path.Base(name)
		if file == "layout.html" || file == "partials.html" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, name)
		if err != nil {
			return nil, fmt.Errorf("ui: parse %s: %w", file, err)
		}
		v.pages[strings.TrimSuffix(file, ".html")] = t
	}
	return v, nil
}

// page is what every screen's template receives.
type page struct {
	Title string
	// Nav names the main navigation entry of the screen.
	Nav  string
	Me   *roster.User
	CSRF string
	// Flash is the message the previous action left; Error is this
	// response's own problem.
	Flash *flash
	Error *errorView
	// ErrorPage says the whole page is the error.
	ErrorPage bool
	// Data is the screen's own data.
	Data any
	// DemoMail puts the demo's mail catcher in the navigation.
	DemoMail bool
	// Waiting counts the tasks waiting on the signed-in person, shown in
	// the navigation: "100+" when there are more than a page.
	Waiting string
	// Now is the time of the response, for relative ages.
	Now time.Time
}

// Age says how long ago t was, in the largest whole unit: "3 days",
// "1 hour", "less than a minute".
func (p *page) Age(t time.Time) string { return age(p.Now.Sub(t)) }

// Admin reports whether the signed-in user is an admin.
func (p *page) Admin() bool { return p.Me != nil && p.Me.Role == roster.RoleAdmin }

// Reader reports whether the signed-in user reads everything.
func (p *page) Reader() bool {
	return p.Me != nil && (p.Me.Role == roster.RoleAdmin || p.Me.Role == roster.RoleAuditor)
}

// errorView is a problem shown on a page.
type errorView struct {
	Status  int
	Title   string
	Message string
	Details []string
}

// render answers the named screen with status.
func (u *UI) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name, title, nav string, data any, errv *errorView) {
	t, ok := u.views.pages[name]
	if !ok {
		u.logger.ErrorContext(r.Context(), "ui: no such template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := &page{Title: title, Nav: nav, Me: v.me, CSRF: u.sessions.csrf(v.sess), Flash: v.flash, Error: errv, ErrorPage: name == "error", Data: data,
		DemoMail: u.demoMail != nil, Now: u.now()}
	if v.me != nil {
		p.Waiting = u.waitingCount(r, v)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		u.logger.ErrorContext(r.Context(), "ui: render", "template", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	body := localTimes(buf.Bytes(), viewerZone(r, v.me), p.Now)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the browser went away; nothing to do
}

// renderError answers an error page.
func (u *UI) renderError(w http.ResponseWriter, r *http.Request, v *visit, e *errorView) {
	u.render(w, r, v, e.Status, "error", e.Title, "", nil, e)
}

// errorFor turns a Service error into what a page shows. Internal errors are
// logged and never shown.
func (u *UI) errorFor(r *http.Request, err error) *errorView {
	e := &errorView{Message: roster.ErrorMessage(err), Details: roster.ErrorDetails(err)}
	for i, d := range e.Details {
		e.Details[i] = consoleWords(d)
	}
	switch roster.ErrorCode(err) {
	case roster.EFORBIDDEN:
		e.Status, e.Title = http.StatusForbidden, "Not allowed"
	case roster.ENOTFOUND:
		e.Status, e.Title = http.StatusNotFound, "Not found"
	case roster.EINVALID:
		e.Status, e.Title = http.StatusUnprocessableEntity, "Not valid"
	case roster.ECONFLICT:
		e.Status, e.Title = http.StatusConflict, "Not possible now"
	case roster.EUNAUTHORIZED:
		e.Status, e.Title = http.StatusUnauthorized, "Signed out"
	default:
		u.logger.ErrorContext(r.Context(), "ui: internal error", "method", r.Method, "path", r.URL.Path, "error", err)
		e.Status, e.Title = http.StatusInternalServerError, "Something went wrong"
		e.Message = "An internal error stopped this page. It has been logged; try again, or ask an administrator to look at the server's log."
	}
	return e
}

// fail answers an error page for a Service error.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	u.renderError(w, r, v, u.errorFor(r, err))
}

// done finishes an action with POST-redirect-GET: on success it leaves notice
// (and details) for the page at to; a refusal (EFORBIDDEN) answers a 403
// page; any other error is left as an error message on the page at to.
func (u *UI) done(w http.ResponseWriter, r *http.Request, v *visit, to string, err error, notice string, details ...string) {
	if err != nil {
		e := u.errorFor(r, err)
		if e.Status == http.StatusForbidden || e.Status == http.StatusInternalServerError {
			u.renderError(w, r, v, e)
			return
		}
		u.sessions.setFlash(w, &flash{Kind: "error", Title: e.Title, Message: e.Message, Details: e.Details})
	} else if notice != "" {
		u.sessions.setFlash(w, &flash{Kind: "notice", Message: notice, Details: details})
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// staticHandler serves the embedded style sheet.
func staticHandler() http.Handler {
	files := http.FileServerFS(staticFS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	})
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	// when is a time (or a pointer to one) as a <time> element, which
	// render shows in the viewer's zone with its age; since leaves the age
	// out.
	"when":  func(t any) template.HTML { return whenHTML(timeOf(t), false) },
	"since": func(t any) template.HTML { return whenHTML(timeOf(t), true) },
	"iso":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": func(xs []string) string {
		if len(xs) == 0 {
			return "—"
		}
		return strings.Join(xs, ", ")
	},
	"has":   func(xs []string, x string) bool { return slices.Contains(xs, x) },
	"human": func(v any) string { return human(fmt.Sprint(v)) },
	"plus1": func(i int) int { return i + 1 },
	"minus": func(a, b int) int { return a - b },
	"duration": func(d roster.Duration) string {
		s := d.String()
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		return s
	},
	"pathq": func(s string) string { return url.PathEscape(s) },
	"query": url.QueryEscape,
	"stepState": func(t *roster.Task, i int) string {
		switch {
		case i < t.Step:
			return "approved"
		case i == t.Step && t.State == roster.StatePendingApproval:
			return "current"
		case i == t.Step && t.State == roster.StateDenied:
			return "denied"
		case t.State == roster.StatePendingApproval:
			return "waiting"
		case t.State == roster.StateDenied || t.State == roster.StateCancelled || t.State == roster.StateFailed:
			return "not reached"
		}
		return "approved"
	},
	// named pairs a person's id with their name from names, for the
	// "who" partial.
	"named":  func(names map[string]string, id string) personName { return personName{ID: id, Name: names[id]} },
	"person": func(id, name string) personName { return personName{ID: id, Name: name} },
	"plural": plural,
	// builtinWords says what a profile's built-in entitlement means
	// ("membership of eng", "excluded from eng"); "" for any other.
	"builtinWords": builtinWords,
	// namedWords is builtinWords with the profile's name from names
	// (profile id -> name) when it is there.
	"namedWords": namedWords,
	// tasksOf pairs a task list with the names of the profiles it names,
	// for the task_table partial.
	"tasksOf": func(tasks []roster.Task, profiles, people map[string]string) taskTable {
		return taskTable{Tasks: tasks, Profiles: profiles, People: people}
	},
	// people names each of ids by name where names has it ("Raj Patel"),
	// else by id.
	"people": func(names map[string]string, ids []string) string {
		out := make([]string, len(ids))
		for i, id := range ids {
			if out[i] = names[id]; out[i] == "" {
				out[i] = id
			}
		}
		return strings.Join(out, ", ")
	},
	"entTitle":       entitlementTitle,
	"builtinProfile": builtinProfile,
	"headline":       headline,
	"builtin": func(ent string) bool {
		app, _, _ := roster.SplitEntitlementID(ent)
		return app == roster.BuiltinApp
	},
}

// docLine and docPath find what the console's generated declarative
// document says of itself in an error: the file and line ("profile eng:2: ")
// and a path such as "profiles[0].automation.any_entitlement".
var (
	docLine  = regexp.MustCompile(`^[^:]*:\d+: `)
	docIndex = regexp.MustCompile(`\[\d+\]`)
	docPath  = regexp.MustCompile(`\b(?:profiles|apps|users|policies|grants)\[\d+\]((?:\.[a-z_]+|\[\d+\])*)`)
)

// fieldLabels are the console's names of the fields of a profile's document.
var fieldLabels = map[string]string{
	"":                                       "The profile",
	"id":                                     "Id",
	"name":                                   "Name",
	"description":                            "Description",
	"entitlements":                           "Entitlements",
	"allow_enrollment_requests":              "Allow enrollment requests",
	"enrollment.policy":                      "Enrollment policy",
	"enrollment.bypass_entitlement_policies": "Enrollment: bypass entitlement policies",
	"unenrollment.policy":                    "Unenrollment policy",
	"unenrollment.access":                    "Access on unenrollment",
	"unenrollment.bypass_entitlement_policies": "Unenrollment: bypass entitlement policies",
	"automation.enabled":                       "Membership automation",
	"automation.mode":                          "Automation mode",
	"automation.any_entitlement":               "Rule",
	"automation.excluded_users":                "Excluded users",
	"automation.exclusion_policy":              "Exclusion policy",
	"automation.safeguard":                     "Safeguard",
}

// consoleWords rewrites an error detail about the document the console
// applied for people: without its file and line, and with field labels for
// the document's paths ("Rule is empty", not
// "profiles[0].automation.any_entitlement is empty").
func consoleWords(s string) string {
	s = docLine.ReplaceAllString(s, "")
	return docPath.ReplaceAllStringFunc(s, func(m string) string {
		rest := docPath.FindStringSubmatch(m)[1]
		key := strings.TrimPrefix(docIndex.ReplaceAllString(rest, ""), ".")
		if l, ok := fieldLabels[key]; ok {
			return l
		}
		return strings.ToUpper(key[:1]) + strings.NewReplacer(".", " ", "_", " ").Replace(key[1:])
	})
}

// builtinWords says in words what a profile's built-in entitlement is:
// "membership of P" or "excluded from P"; "" for an app's entitlement.
func builtinWords(ent string) string {
	app, local, ok := roster.SplitEntitlementID(ent)
	if !ok || app != roster.BuiltinApp {
		return ""
	}
	if p, ok := strings.CutSuffix(local, ".excluded"); ok {
		return "Excluded from " + p
	}
	return "Membership of " + local
}

// namedWords says in words what a profile's built-in entitlement is, with
// the profile's name from names when known: "Excluded from Engineering
// onboarding"; "" for an app's entitlement.
func namedWords(names map[string]string, ent string) string {
	app, local, ok := roster.SplitEntitlementID(ent)
	if !ok || app != roster.BuiltinApp {
		return ""
	}
	p, excluded := strings.CutSuffix(local, ".excluded")
	name := names[p]
	if name == "" {
		return builtinWords(ent)
	}
	if excluded {
		return "Excluded from " + name
	}
	return "Member of " + name
}

// builtinProfile is the profile of a built-in entitlement ("" for any other).
func builtinProfile(ent string) string {
	app, local, ok := roster.SplitEntitlementID(ent)
	if !ok || app != roster.BuiltinApp {
		return ""
	}
	return strings.TrimSuffix(local, ".excluded")
}

// taskTable is what the task_table partial shows: tasks, and the names of
// the profiles they name (nil shows ids).
type taskTable struct {
	Tasks    []roster.Task
	Profiles map[string]string
	// People names the tasks' subjects, approvers and provisioners.
	People map[string]string
}

// personName is a person's id and name (empty when not known).
type personName struct{ ID, Name string }

// human turns a code such as "pending_approval" into words.
func human(s string) string {
	switch s {
	case roster.ModeSyncAndAct:
		return "Sync members and initiate access changes"
	case roster.ModeSyncMembersOnly:
		return "Sync members only"
	case roster.AccessLeave:
		return "Leave the access as-is"
	case roster.AccessRevokeAll:
		return "Revoke all entitlements granted by the profile"
	case roster.AccessRevokeUnjustified:
		return "Revoke unjustified entitlements"
	case "":
		return "—"
	}
	return strings.ReplaceAll(s, "_", " ")
}
