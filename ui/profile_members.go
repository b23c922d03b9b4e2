package ui

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/rosterhq/roster"
)

// membersPage is how many members the Members tab shows at a time.
const membersPage = 100

// pendingShown is how many pending enrollments the Members tab names; the
// rest are behind the link to the task list.
const pendingShown = 20

// membersData is the Members tab of a profile.
type membersData struct {
	*profileTab
	Members []roster.MemberView
	// First is the position of the page's first member (1-based); Next and
	// FirstPage link onwards and back to the start ("" when there is none).
	First, Last         int
	Next, FirstPage     string
	Pending, PendingOut []roster.PendingTask
}

// showMembers shows a profile's members with their source, the count of
// pending enrollments linking to the open tasks, and, for admins, the Enroll
// users form.
func (u *UI) showMembers(w http.ResponseWriter, r *http.Request, v *visit) {
	pt, ok := u.loadProfileTab(w, r, v, "members")
	if !ok {
		return
	}
	q := r.URL.Query()
	page, err := u.service.ProfileMembers(v.ctx, pt.P.ID, roster.MemberFilter{Cursor: q.Get("cursor"), Limit: membersPage})
	if err != nil {
		u.fail(w, r, v, err)
		return
	}
	// The position travels with the cursor, so that the page can say
	// "101–200 of 734" without counting again.
	d := membersData{profileTab: pt, Members: page.Items, First: 1}
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
	d.Pending = pt.P.PendingEnrollments[:min(len(pt.P.PendingEnrollments), pendingShown)]
	d.PendingOut = pt.P.PendingUnenrollments[:min(len(pt.P.PendingUnenrollments), pendingShown)]
	u.render(w, r, v, http.StatusOK, "profile_members", pt.P.Name, "profiles", d, nil)
}
