package engine

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/rosterhq/roster"
	"github.com/wneessen/go-mail"
)

// SMTPTimeout bounds each step of talking to the SMTP server: connecting,
// STARTTLS and AUTH, and sending one message.
const SMTPTimeout = 15 * time.Second

// mailAll sends the emails msgs hold through the tenant's SMTP server, as its
// settings say now, over one connection, and returns each one's error. When
// the server cannot be reached or refuses the session, every one of them
// fails with that error.
func (n *Notifier) mailAll(ctx context.Context, msgs []roster.Notification) []error {
	errs := make([]error, len(msgs))
	fail := func(err error) []error {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return errs
	}
	var s *roster.Settings
	err := n.engine.store.View(ctx, func(tx roster.Tx) (err error) {
		s, err = tx.Settings(ctx)
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("read settings: %w", err))
	}
	cfg := s.Notifications.Email
	if cfg == nil {
		return fail(fmt.Errorf("settings.notifications.email is not set: no SMTP server to send through"))
	}
	built := make([]*mail.Msg, len(msgs))
	for i, msg := range msgs {
		built[i], errs[i] = buildMail(cfg, msg)
	}
	c, err := n.smtpClient(cfg)
	if err != nil {
		return fail(err)
	}
	dialCtx, cancel := context.WithTimeout(ctx, SMTPTimeout)
	defer cancel()
	if err := c.DialWithContext(dialCtx); err != nil {
		return fail(fmt.Errorf("connect to %s:%d: %w", cfg.SMTPHost, cfg.SMTPPort, err))
	}
	defer c.Close()
	start := time.Now()
	for i, m := range built {
		if errs[i] != nil {
			continue
		}
		if ctx.Err() != nil || time.Since(start) > passBudget {
			// Stopping, or this pass's time is up: those sent are
			// recorded, the rest stay due as they were.
			for j := i; j < len(errs); j++ {
				if errs[j] == nil {
					errs[j] = errNotSent
				}
			}
			return errs
		}
		if err := c.Send(m); err != nil {
			errs[i] = fmt.Errorf("send through %s:%d: %w", cfg.SMTPHost, cfg.SMTPPort, err)
		}
	}
	return errs
}

// buildMail composes the message msg holds, from cfg's sender.
func buildMail(cfg *roster.EmailSettings, msg roster.Notification) (*mail.Msg, error) {
	email, err := decodeMail(msg.Payload)
	if err != nil {
		return nil, fmt.Errorf("read email %d: %w", msg.ID, err)
	}
	m := mail.NewMsg()
	if err := m.From(cfg.From); err != nil {
		return nil, fmt.Errorf("settings.notifications.email.from: %w", err)
	}
	if err := m.To(msg.Target); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", msg.Target, err)
	}
	m.Subject(email.Subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, email.Text)
	m.AddAlternativeString(mail.TypeTextHTML, email.HTML)
	return m, nil
}

// smtpClient returns a client for cfg's server: STARTTLS when it says so,
// AUTH with the credentials its *_env settings name.
func (n *Notifier) smtpClient(cfg *roster.EmailSettings) (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(cfg.SMTPPort), mail.WithTimeout(SMTPTimeout), mail.WithTLSPolicy(mail.NoTLS)}
	if cfg.StartTLS {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if cfg.UsernameEnv != "" {
		if err := n.engine.checkEmailSettings(cfg); err != nil {
			return nil, err
		}
		user, pass := os.Getenv(cfg.UsernameEnv), os.Getenv(cfg.PasswordEnv)
		if user == "" || pass == "" {
			return nil, fmt.Errorf("settings.notifications.email: environment variables %s and %s must both be set", cfg.UsernameEnv, cfg.PasswordEnv)
		}
		// With STARTTLS the strongest mechanism the server offers; without,
		// PLAIN, which go-mail sends in clear only to a local server.
		auth := mail.SMTPAuthPlain
		if cfg.StartTLS {
			auth = mail.SMTPAuthAutoDiscover
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(user), mail.WithPassword(pass))
	}
	c, err := mail.NewClient(cfg.SMTPHost, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}
