package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/rosterhq/roster"
)

// With a bot token everyone told by email is also told on Slack;
// notify: slack is Slack only, and nothing without a bot; none is nothing.
func TestChannels(t *testing.T) {
	email, slack := &roster.EmailSettings{SMTPHost: "mail"}, &roster.SlackSettings{BotTokenEnv: "ROSTER_SECRET_BOT"}
	for _, c := range []struct {
		n      roster.Notifications
		notify string
		want   []string
	}{
		{roster.Notifications{Email: email}, roster.NotifyEmail, []string{roster.ChannelEmail}},
		{roster.Notifications{Email: email}, roster.NotifySlack, nil},
		{roster.Notifications{Email: email, Slack: slack}, roster.NotifyEmail, []string{roster.ChannelEmail, roster.ChannelSlackDM}},
		{roster.Notifications{Email: email, Slack: slack}, roster.NotifySlack, []string{roster.ChannelSlackDM}},
		{roster.Notifications{Email: email, Slack: slack}, roster.NotifyNone, nil},
		{roster.Notifications{Slack: slack}, roster.NotifyEmail, []string{roster.ChannelSlackDM}},
		{roster.Notifications{}, roster.NotifyEmail, nil},
	} {
		if got := channels(c.n, c.notify); !slices.Equal(got, c.want) {
			t.Errorf("channels(email %v, slack %v, notify %s) = %v, want %v", c.n.Email != nil, c.n.Slack != nil, c.notify, got, c.want)
		}
	}
}

// A Slack message escapes mrkdwn in its blocks, keeps a section within
// Slack's 3,000 characters, and has a button only with a link.
func TestSlackMessage(t *testing.T) {
	m := newSlackMessage(&roster.Email{Subject: "Approve? Bob", Text: "Hello,\n\nWhy: <b> & co\n\n-- Roster\n"}, "https://r.example/tasks/1", "Approve or deny it")
	if m.Text != "Approve? Bob\n\nHello,\n\nWhy: <b> & co" {
		t.Errorf("text = %q", m.Text)
	}
	if got := m.Blocks[0]["text"].(map[string]any)["text"]; got != "*Approve? Bob*\nHello,\n\nWhy: &lt;b&gt; &amp; co" {
		t.Errorf("section = %q", got)
	}
	if len(m.Blocks) != 2 || m.Blocks[1]["type"] != "actions" {
		t.Errorf("blocks = %v", m.Blocks)
	}
	long := newSlackMessage(&roster.Email{Subject: "S", Text: strings.Repeat("é", 4000)}, "", "")
	if n := len([]rune(long.Blocks[0]["text"].(map[string]any)["text"].(string))); n > maxSlackSection || len(long.Blocks) != 1 {
		t.Errorf("long message: section of %d characters, %d blocks", n, len(long.Blocks))
	}
}
