package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster"
)

// membersPage is how many members the Members tab shows at a time.
const membersPage = 100

// pendingShown is how many pending enrollments the Members tab lists at a
// time, and how many pending unenrollments it names.
const pendingShown = 20

// pendingRow is a pending enrollment as the Members tab lists it.
type pendingRow struct {
	roster.PendingTask
	Name, Department string
	// Since is when the task last changed, for "waiting 3 days".
	Since time.Time
}

// membersData is the Members tab of a profile.
type membersData struct {
	*profileTab
	Members []roster.MemberView
	// First is the position of the page's first member (1-based); Next and
	// FirstPage link onwards and back to the start ("" when there is none).
	First, Last     int
	Next, FirstPage string
	// Pending is a page of the pending enrollments (PendingPager);
	// PendingOut the first of the pending unenrollments.
	Pending      []pendingRow
	PendingPager pager
	PendingOut   []roster.PendingTask
	// Denied are the latest denied enrollments of people who are neither
	// members nor pending (admins and auditors).
	Denied []deniedEnrollment
	// Enroll picks the people to enroll (admins); Comment is the comment
	// typed in its form.
	Enroll  picker
	Comment string
}

// deniedEnrollment is a denied enrollment as the Members tab shows it.
type deniedEnrollment struct {
	User, Name, By, Comment string
	Task                    int64
	At                      time.Time
}

// deniedShown is how many denied enrollments the Members tab lists.
const deniedShown = 20

// deniedEnrollments reads the latest denied enrollments of p whose people
// are neither members nor pending, newest first.
func (u *UI) deniedEnrollments(v *visit, p *roster.ProfileView) ([]deniedEnrollment, error) {
	page, err := u.service.Tasks(v.ctx, roster.TaskFilter{Profile: p.ID, Entitlement: roster.EnrollmentEntitlement(p.ID),
		Kind: roster.TaskGrant, State: roster.StateDenied, Limit: roster.MaxPageSize})
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, t := range p.PendingEnrollments {
		skip[t.User] = true
	}
	var out []deniedEnrollment
	for i := len(page.Items) - 1; i >= 0 && len(out) < deniedShown; i-- {
		t := &page.Items[i]
		if skip[t.User] {
			continue
		}
		skip[t.User] = true
		d := deniedEnrollment{User: t.User, Task: t.ID, At: t.UpdatedAt}
		for _, h := range t.History {
			if h.Action == roster.HistoryDenied {
				d.By, d.Comment, d.At = h.Actor, h.Comment, h.At
			}
		}
		out = append(out, d)
	}
	// Members are left out (one enrolled by hand after a denial); the rest
	// are named.
	kept := out[:0]
	for _, d := range out {
		g, err := u.service.Grants(v.ctx, roster.GrantFilter{User: d.User, Entitlement: roster.EnrollmentEntitlement(p.ID)})
		if err != nil {
			return nil, err
		}
		if len(g.Items) > 0 {
			continue
		}
		if person, err := u.service.User(v.ctx, d.User); err == nil {
			d.Name = person.Name
		}
		kept = append(kept, d)
	}
	return kept, nil
}

// showMembers shows a profile's members with their source, the count of
// pending enrollments linking to the open tasks, and, for admins, the Enroll
// users form.
func (u *UI) showMembers(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "members")
	if !ok {
		return
	}
	d, err := u.membersData(v, pt, r.URL.Query(), nil)
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	u.render(w, r, v, http.StatusOK, "profile_members", pt.P.Name, "profiles", d, nil)
}

// pendingQuery keeps of q what the pending enrollments' links carry: the
// members' page, so that paging one list keeps the other where it is.
func pendingQuery(q url.Values) url.Values {
	out := url.Values{}
	for _, k := range []string{"cursor", "from", "pending"} {
		if v := q.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}

// membersData reads the Members tab: q holds the page's cursor and the
// Enroll users search ("find"); picks are the people ticked to enroll.
func (u *UI) membersData(v *visit, pt *profileTab, q url.Values, picks []string) (*membersData, error) {
	page, err := u.service.ProfileMembers(v.ctx, pt.P.ID, roster.MemberFilter{Cursor: q.Get("cursor"), Limit: membersPage})
	if err != nil {
		return nil, err
	}
	// The position travels with the cursor, so that the page can say
	// "101–200 of 734" without counting again.
	d := &membersData{profileTab: pt, Members: page.Items, First: 1}
	if q.Get("cursor") != "" {
		if n, err := strconv.Atoi(q.Get("from")); err == nil && n > 1 {
			d.First = n
		}
		d.FirstPage = profileURL(pt.P.ID, "")
	}
	d.Last = d.First + len(page.Items) - 1
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}, "from": {strconv.Itoa(d.Last + 1)}}
		d.Next = profileURL(pt.P.ID, "") + "?" + next.Encode()
	}
	lo, hi, pg := offsetPageBy(profileURL(pt.P.ID, ""), pendingQuery(q), len(pt.P.PendingEnrollments), "pending", pendingShown)
	pg.ID, pg.Label = "pending", "pending enrollments"
	d.PendingPager = pg
	for _, pe := range pt.P.PendingEnrollments[lo:hi] {
		row := pendingRow{PendingTask: pe}
		if person, err := u.service.User(v.ctx, pe.User); err == nil {
			row.Name, row.Department = person.Name, person.Department
		}
		if task, err := u.service.Task(v.ctx, pe.Task); err == nil {
			row.Since = task.UpdatedAt
		}
		d.Pending = append(d.Pending, row)
	}
	d.PendingOut = pt.P.PendingUnenrollments[:min(len(pt.P.PendingUnenrollments), pendingShown)]
	if v.reader() {
		if d.Denied, err = u.deniedEnrollments(v, pt.P); err != nil {
			return nil, err
		}
	}
	if v.admin() {
		d.Enroll = picker{ID: "enroll", Legend: "People to enroll", Field: "pick", Search: "find", Query: strings.TrimSpace(q.Get("find")),
			Placeholder: "Name, email or id", FindAction: profileURL(pt.P.ID, "enroll") + "#enroll"}
		if err := u.pickUsers(v, &d.Enroll, picks, roster.UserActive); err != nil {
			return nil, err
		}
	}
	return d, nil
}
