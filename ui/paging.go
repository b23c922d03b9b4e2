package ui

import (
	"net/url"
	"strconv"
	"strings"
)

// pager is the paging line of a list read a page at a time by cursor: the
// positions shown, the total when known, and the links back and on. The
// request carries the position ("from") and the cursors of the pages before
// ("back", repeated) so that Previous needs no count and no offset.
type pager struct {
	// ID prefixes the ids of the pager's links ("paging" when empty), for a
	// page with more than one list.
	ID string
	// Label names the list in the pager's label when ID is set.
	Label       string
	First, Last int
	// Total is the count of every page together; -1 when not known.
	Total      int
	Prev, Next string
}

// pageSize is how many rows a list shows at a time, unless the request
// asks for another size ("limit", 1 to roster.MaxPageSize).
const pageSize = 100

// listLimit returns the page size q asks for, or pageSize.
func listLimit(q url.Values) int {
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n <= 1000 {
		return n
	}
	return pageSize
}

// newPager links the page of n rows that q's cursor read at path, with
// next the cursor of the page after it ("" for the last page).
func newPager(path string, q url.Values, n int, next string, total *int) pager {
	p := pager{First: 1, Total: -1}
	if total != nil {
		p.Total = *total
	}
	if f, err := strconv.Atoi(q.Get("from")); err == nil && f > 1 && q.Get("cursor") != "" {
		p.First = f
	}
	p.Last = p.First + n - 1
	back := q["back"]
	if q.Get("cursor") != "" {
		prev := cloneValues(q)
		limit := listLimit(q)
		if len(back) > 0 {
			prev.Set("cursor", back[len(back)-1])
			prev["back"] = back[:len(back)-1]
		} else {
			prev.Del("cursor")
		}
		if prev.Get("cursor") == "" {
			prev.Del("cursor")
			prev.Del("from")
			prev.Del("back")
		} else {
			prev.Set("from", strconv.Itoa(max(1, p.First-limit)))
		}
		p.Prev = path + "?" + prev.Encode()
	}
	if next != "" {
		nq := cloneValues(q)
		nq["back"] = append(append([]string{}, back...), q.Get("cursor"))
		if q.Get("cursor") == "" {
			nq.Del("back")
		}
		nq.Set("cursor", next)
		nq.Set("from", strconv.Itoa(p.Last+1))
		p.Next = path + "?" + nq.Encode()
	}
	return p
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string{}, v...)
	}
	return out
}

// offsetPage pages a list held whole in memory: it returns the bounds of
// the page q asks for ("page", from 1) among total rows, and its pager.
func offsetPage(path string, q url.Values, total int) (lo, hi int, p pager) {
	return offsetPageBy(path, q, total, "page", listLimit(q))
}

// offsetPageBy is offsetPage for a list of limit rows a page whose page
// number travels as key, so that a page can hold more than one list.
func offsetPageBy(path string, q url.Values, total int, key string, limit int) (lo, hi int, p pager) {
	n, err := strconv.Atoi(q.Get(key))
	if err != nil || n < 1 || (n-1)*limit >= total {
		n = 1
	}
	lo, hi = (n-1)*limit, min(n*limit, total)
	p = pager{First: lo + 1, Last: hi, Total: total}
	link := func(page int) string {
		l := cloneValues(q)
		if page == 1 {
			l.Del(key)
		} else {
			l.Set(key, strconv.Itoa(page))
		}
		if len(l) == 0 {
			return path
		}
		return path + "?" + l.Encode()
	}
	if n > 1 {
		p.Prev = link(n - 1)
	}
	if hi < total {
		p.Next = link(n + 1)
	}
	return lo, hi, p
}

// matches reports whether any of fields contains q, ignoring case.
func matches(q string, fields ...string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}
