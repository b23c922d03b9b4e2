package ui

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/rosterhq/roster"
)

// previewControls shows what saving the Controls form would do, saving
// nothing: the form's document is planned (Service.Plan; admins) and the
// Controls tab is shown again, with the values posted and the plan beside
// them. It is the same form submitted to another address, so it works
// without JavaScript.
func (u *UI) previewControls(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "controls")
	if !ok {
		return
	}
	f := readControlsForm(r)
	d, err := u.controlsData(v, pt, f)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	e := f.apply(entryOf(pt.P))
	doc, err := e.document()
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	plan, err := u.service.Plan(v.ctx, roster.ApplyRequest{Filename: "profile " + e.ID, Document: doc})
	if err != nil {
		errv := u.errorFor(r, err)
		if errv.Status == http.StatusForbidden || errv.Status == http.StatusInternalServerError {
			u.renderError(w, r, v, errv)
			return
		}
		d.Saved = &applyResult{Document: string(doc)}
		u.render(w, r, v, errv.Status, "profile_controls", pt.P.Name+": controls", "profiles", d, errv)
		return
	}
	d.Preview = previewOf(plan, pt.P, e)
	u.render(w, r, v, http.StatusOK, "profile_controls", pt.P.Name+": preview", "profiles", d, nil)
}

// preview is a plan as the Controls tab shows it.
type preview struct {
	// Changed lists the profile's fields the save would change.
	Changed []string
	// Profiles are the profiles whose membership or access would move: this
	// one first.
	Profiles []profilePreview
}

// profilePreview is what saving would do to one profile.
type profilePreview struct {
	ID                 string
	Joining, Leaving   int
	People             []personPreview
	Safeguard          *roster.SafeguardVerdict
	TasksWaiting       int
	TasksDone, Revokes int
}

// personPreview is one person who would join or leave, and why.
type personPreview struct {
	User, Name string
	Joins      bool
	Why        string
	// Gains and Loses are the access their tasks would grant or revoke;
	// Later says what follows an approval still to be given.
	Gains, Loses []string
	Later        string
}

// Paused reports whether the safeguard would pause the sync.
func (p profilePreview) Paused() bool {
	return p.Safeguard != nil && p.Safeguard.Verdict == roster.VerdictPause
}

// previewOf arranges a plan of e, the profile p as the form would save it.
func previewOf(plan *roster.ChangePlan, p *roster.ProfileView, e profileEntry) *preview {
	out := &preview{}
	for _, c := range plan.Changes {
		if c.Kind == "profile" && c.ID == p.ID {
			for f := range c.Fields {
				out.Changed = append(out.Changed, human(f))
			}
		}
	}
	slices.Sort(out.Changed)
	for _, pp := range plan.Profiles {
		out.Profiles = append(out.Profiles, profilePreviewOf(plan, pp, p.ID, e))
	}
	slices.SortStableFunc(out.Profiles, func(a, b profilePreview) int {
		if (a.ID == p.ID) != (b.ID == p.ID) {
			if a.ID == p.ID {
				return -1
			}
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

func profilePreviewOf(plan *roster.ChangePlan, pp roster.ProfilePlan, self string, e profileEntry) profilePreview {
	out := profilePreview{ID: pp.Profile, Joining: len(pp.Enroll), Leaving: len(pp.Unenroll), Safeguard: pp.Safeguard}
	people := map[string]*personPreview{}
	person := func(u string) *personPreview {
		if x, ok := people[u]; ok {
			return x
		}
		x := &personPreview{User: u, Name: plan.Names[u], Why: pp.Why[u]}
		people[u] = x
		return x
	}
	for _, u := range pp.Enroll {
		person(u).Joins = true
	}
	for _, u := range pp.Unenroll {
		person(u)
	}
	membership := roster.EnrollmentEntitlement(pp.Profile)
	for _, t := range pp.Tasks {
		if t.State.Open() {
			out.TasksWaiting++
		} else if t.State == roster.StateDone {
			out.TasksDone++
		}
		if strings.HasPrefix(t.Entitlement, roster.BuiltinApp+"/") {
			if t.Entitlement == membership && t.State.Open() && pp.Profile == self {
				x := person(t.User)
				if t.Kind == roster.TaskGrant {
					x.Later = fmt.Sprintf("enrollment waits on %s; once approved: %s", approvers(t.Approvers), strings.Join(orNone(e.Entitlements), ", "))
				} else {
					x.Later = fmt.Sprintf("unenrollment waits on %s; then %s", approvers(t.Approvers), human(e.Unenrollment.Access))
				}
			}
			continue
		}
		if t.State == roster.StateCancelled || t.State == roster.StateDenied {
			continue
		}
		x := person(t.User)
		if t.Kind == roster.TaskGrant {
			x.Gains = append(x.Gains, t.Entitlement)
		} else {
			x.Loses = append(x.Loses, t.Entitlement)
			out.Revokes++
		}
	}
	for _, x := range people {
		if pp.Profile == self && len(x.Gains)+len(x.Loses) == 0 && x.Later == "" {
			// No task yet (a paused sync's staged plan, or access that
			// follows an approval): what the profile's settings imply.
			x.Later = accessOnce(x.Joins, e, out.Paused())
		}
		out.People = append(out.People, *x)
	}
	slices.SortFunc(out.People, func(a, b personPreview) int {
		if a.Joins != b.Joins {
			if a.Joins {
				return -1
			}
			return 1
		}
		return strings.Compare(a.User, b.User)
	})
	return out
}

// accessOnce says what access follows a person's enrollment or
// unenrollment from profile e, when the plan has no task for it yet.
func accessOnce(joins bool, e profileEntry, paused bool) string {
	prefix := ""
	if paused {
		prefix = "staged for review; "
	}
	if len(e.Entitlements) == 0 {
		return prefix + "the profile gives no access"
	}
	ents := strings.Join(e.Entitlements, ", ")
	switch {
	case joins:
		return prefix + "once enrolled, gains " + ents
	case e.Unenrollment.Access == roster.AccessLeave:
		return prefix + "once unenrolled, keeps their access (" + human(e.Unenrollment.Access) + ")"
	}
	return prefix + "once unenrolled, loses " + ents + " (" + human(e.Unenrollment.Access) + ")"
}

func approvers(us []string) string {
	if len(us) == 0 {
		return "provisioning"
	}
	return strings.Join(us, ", ")
}

func orNone(xs []string) []string {
	if len(xs) == 0 {
		return []string{"(no entitlements)"}
	}
	return xs
}
