package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/rosterhq/roster"
	"github.com/spf13/cobra"
)

// auditCommand is `roster audit verify|export`.
func (a *app) auditCommand() *cobra.Command {
	verifyCmd := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the audit log's hash chain and name the first event that does not match",
		Long: "Recompute the audit log's hash chain on the server, from the first event to the last, and\n" +
			"name the first event that does not match: its hash (it, or the one before it, was changed), its\n" +
			"link to the event before it (events between were deleted), or the chain's end (the last events\n" +
			"were deleted). Exits with status 1 when the chain is broken.",
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			v, err := c.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if err := a.render(v, func(w io.Writer) {
				fmt.Fprintf(w, "Events that match:\t%d\n", v.Events)
				fmt.Fprintf(w, "Last that matches:\t%d %s\n", v.LastID, v.LastHash)
				if b := v.Broken; b != nil {
					fmt.Fprintf(w, "Broken at:\tevent %d %s %s\n", b.ID, orDash(string(b.Action)), formatTime(b.At))
					fmt.Fprintf(w, "Problem:\t%s: %s\n", b.Problem, b.Detail)
				} else {
					fmt.Fprintf(w, "Chain:\tintact\n")
				}
			}); err != nil {
				return err
			}
			if b := v.Broken; b != nil {
				return fmt.Errorf("the audit chain is broken at event %d (%s)", b.ID, b.Problem)
			}
			return nil
		},
	}
	var since string
	exportCmd := &cobra.Command{
		Use:   "export [--since T] -o ndjson",
		Short: "Write the audit events, in chain order with their hashes, one JSON object a line",
		Args:  args(),
		// -o ndjson is this command's format, and its only one.
		Annotations: map[string]string{ndjsonAnnotation: "yes"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != outputNDJSON {
				return usageErrorf(cmd, "roster audit export writes -o ndjson only, not %q", a.output)
			}
			var from time.Time
			if since != "" {
				t, err := time.Parse(time.RFC3339, since)
				if err != nil {
					return usageErrorf(cmd, "--since must be an RFC 3339 time such as 2024-05-01T09:00:00Z, not %q", since)
				}
				from = t
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			var line []byte
			return c.ExportEvents(cmd.Context(), from, func(ev *roster.Event) error {
				b, err := json.Marshal(ev)
				if err != nil {
					return err
				}
				line = append(escapeControls(line[:0], b), '\n')
				_, err = a.opts.Stdout.Write(line)
				return err
			})
		},
	}
	exportCmd.Flags().StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	return group("audit COMMAND", "Check and export the audit log", verifyCmd, exportCmd)
}

// escapeControls appends the JSON b to dst with DEL and the C1 control
// characters, which encoding/json leaves as they are, written as \u escapes:
// the same JSON, which the terminal-safe output then passes unchanged.
func escapeControls(dst, b []byte) []byte {
	for len(b) > 0 {
		i := bytes.IndexFunc(b, func(r rune) bool { return r == 0x7f || (r >= 0x80 && r < 0xa0) })
		if i < 0 {
			return append(dst, b...)
		}
		r, size := utf8.DecodeRune(b[i:])
		dst = fmt.Appendf(append(dst, b[:i]...), `\u%04x`, r)
		b = b[i+size:]
	}
	return dst
}
