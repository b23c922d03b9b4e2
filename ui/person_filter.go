package ui

import (
	"net/url"
	"strings"

	"github.com/rosterhq/roster"
)

// personFilter is a person field of a list's filter form (a GET form) that
// takes a name or an email as well as an id: the text typed names one
// person, who is shown as a chip to remove, or several, who are offered to
// choose from, and the list is not filtered on a guess.
type personFilter struct {
	// ID prefixes the ids of the field's elements ("f-user").
	ID string
	// Chosen is the person the list is filtered on.
	Chosen *roster.User
	// Remove is the list without this filter.
	Remove string
	// Choices are the people the text matches when it names several.
	Choices []personChoice
	// Typed is the text when it matches no one.
	Typed string
}

// personChoice is one person a filter's text matches, and the list
// filtered on them.
type personChoice struct {
	User roster.User
	URL  string
}

// personChoices is how many matches a person filter offers.
const personChoices = 10

// resolvePerson reads q's field as a person filter of the list at path: it
// returns the user id to filter on ("" for none) and what the form shows.
func (u *UI) resolvePerson(v *visit, path string, q url.Values, field, id string) (string, personFilter, error) {
	typed := strings.TrimSpace(q.Get(field))
	pf := personFilter{ID: id}
	if typed == "" {
		return "", pf, nil
	}
	without := cloneValues(q)
	without.Del(field)
	without.Del("cursor")
	pf.Remove = path + "?" + without.Encode()
	if person, err := u.service.User(v.ctx, typed); err == nil {
		pf.Chosen = person
		return person.ID, pf, nil
	} else if c := roster.ErrorCode(err); c != roster.ENOTFOUND && c != roster.EFORBIDDEN {
		return "", pf, err
	}
	page, err := u.service.Users(v.ctx, roster.UserFilter{Query: typed, Limit: personChoices})
	if err != nil {
		return "", pf, err
	}
	switch len(page.Items) {
	case 0:
		pf.Typed = typed
		return typed, pf, nil
	case 1:
		pf.Chosen = &page.Items[0]
		return pf.Chosen.ID, pf, nil
	}
	for _, person := range page.Items {
		pick := cloneValues(without)
		pick.Set(field, person.ID)
		pf.Choices = append(pf.Choices, personChoice{User: person, URL: path + "?" + pick.Encode()})
	}
	return "", pf, nil
}
