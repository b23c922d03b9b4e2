package declarative

import (
	"bytes"
	"iter"
	"runtime"
	"sync"

	"go.yaml.in/yaml/v3"
)

// A large file spends most of its parse building yaml.v3's node tree for
// its long lists, and holding it: tens of bytes of nodes per byte of file.
// So from splitMin bytes on, the users and grants sections, when laid out as
// block lists (one "- " item after another, as any generated file is), are
// cut into chunks of whole items that are decoded on every core, each
// chunk's nodes read and dropped in file order. Anything else — a flow list,
// tabs, a document marker, an alias to an anchor in another chunk, a syntax
// error — makes Parse read the file whole instead, so the chunked read gives
// exactly what the whole read gives, only faster.

// splitMin is the file size from which Parse reads long sections in chunks
// (a variable so that tests can cut small files).
var splitMin = 1 << 20

// chunkLines is about how many lines a chunk holds.
var chunkLines = 4096

// splitKeys are the sections read in chunks.
var splitKeys = []string{"users", "grants"}

// chunk is a run of whole items of a section.
type chunk struct {
	text  []byte
	line  int // the line of text's first byte, from 1
	first int // the index in the section of its first item
}

// splitSection finds key's section in data: a line "key:" at column 0 (a
// comment may follow) and below it block list items at one indentation. It
// returns data with the section's body blanked — its lines left empty, so
// every other line keeps its number, and the key line reading "key: []" —
// and the body cut into chunks. found is false when data has no such key
// line; ok is false when the section is not laid out so that it can be cut.
func splitSection(data []byte, key string) (rest []byte, sec splitSec, found, ok bool) {
	var chunks []chunk
	head := []byte(key + ":")
	keyStart, keyEnd, bodyEnd := -1, -1, len(data)
	line, keyLine := 1, 0
	for off := 0; off < len(data); line++ {
		end := lineEnd(data, off)
		l := data[off:end]
		if keyStart < 0 {
			if bytes.HasPrefix(l, head) && isBlankOrComment(l[len(head):]) {
				keyStart, keyEnd, keyLine = off, end, line
			}
		} else if len(l) > 0 && l[0] != ' ' && l[0] != '#' && l[0] != '\r' && l[0] != '\t' && !isItemStart(l) {
			bodyEnd = off
			break
		}
		off = next(data, end)
	}
	if keyStart < 0 {
		return nil, sec, false, false
	}
	// Another key line for the same section is a mistake the whole read
	// reports.
	if bytes.Contains(data[bodyEnd:], append([]byte("\n"), head...)) || bytes.Contains(data[:keyStart], append([]byte("\n"), head...)) {
		return nil, sec, true, false
	}

	indent := -1
	items := 0
	var cur *chunk
	curLines := 0
	line = keyLine + 1
	for off := next(data, keyEnd); off < bodyEnd; line++ {
		end := lineEnd(data, off)
		l := data[off:end]
		n := 0
		for n < len(l) && l[n] == ' ' {
			n++
		}
		switch {
		case n < len(l) && l[n] == '\t':
			return nil, sec, true, false
		case isBlankOrComment(l[n:]):
			// belongs to the item before it
		case bytes.HasPrefix(l[n:], []byte("---")) || bytes.HasPrefix(l[n:], []byte("...")):
			return nil, sec, true, false
		case isItemStart(l[n:]) && (indent < 0 || n == indent):
			if indent < 0 {
				indent = n
			}
			if cur == nil || curLines >= chunkLines {
				chunks = append(chunks, chunk{line: line, first: items})
				cur = &chunks[len(chunks)-1]
				cur.text = data[off:off]
				curLines = 0
			}
			items++
		case indent < 0 || n <= indent:
			// Text before the first item, or not under an item.
			return nil, sec, true, false
		}
		if cur != nil {
			cur.text = data[off-len(cur.text) : next(data, end)]
			curLines++
		}
		off = next(data, end)
	}
	if len(chunks) == 0 {
		return nil, sec, true, false
	}

	rest = make([]byte, 0, len(data)-(bodyEnd-keyEnd))
	rest = append(rest, data[:keyStart]...)
	rest = append(rest, head...)
	rest = append(rest, " []"...)
	rest = append(rest, bytes.Repeat([]byte("\n"), bytes.Count(data[keyEnd:bodyEnd], []byte("\n")))...)
	rest = append(rest, data[bodyEnd:]...)
	return rest, splitSec{keyLine: keyLine, chunks: chunks, items: items}, true, true
}

// lineEnd returns the offset of the end of the line at off, before its
// newline.
func lineEnd(data []byte, off int) int {
	if i := bytes.IndexByte(data[off:], '\n'); i >= 0 {
		return off + i
	}
	return len(data)
}

// next returns the offset of the line after the one ending at end.
func next(data []byte, end int) int {
	if end < len(data) {
		return end + 1
	}
	return end
}

func isItemStart(l []byte) bool {
	return len(l) > 0 && l[0] == '-' && (len(l) == 1 || l[1] == ' ' || l[1] == '\r')
}

func isBlankOrComment(l []byte) bool {
	l = bytes.TrimLeft(l, " \t\r")
	return len(l) == 0 || l[0] == '#'
}

// decodeChunk decodes a chunk into its items, with lines numbered as in the
// whole file. ok is false when the chunk is not a list on its own.
func decodeChunk(c chunk) (items []*yaml.Node, ok bool) {
	if items, ok := flowItems(c); ok {
		return items, true
	}
	return yamlChunk(c)
}

// yamlChunk decodes a chunk with yaml.v3.
func yamlChunk(c chunk) (items []*yaml.Node, ok bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(c.text, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode {
		return nil, false
	}
	shiftLines(doc.Content[0], c.line-1)
	return doc.Content[0].Content, true
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// chunkItems yields the items of chunks with their index in the section,
// decoding chunks on every core, a few ahead of the reader. When a chunk
// does not decode it sets *failed and stops.
func chunkItems(chunks []chunk, failed *bool) iter.Seq2[int, *yaml.Node] {
	return func(yield func(int, *yaml.Node) bool) {
		type result struct {
			items []*yaml.Node
			ok    bool
		}
		workers := runtime.GOMAXPROCS(0)
		results := make([]chan result, len(chunks))
		for i := range results {
			results[i] = make(chan result, 1)
		}
		stop := make(chan struct{})
		work := make(chan int)
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					items, ok := decodeChunk(chunks[i])
					results[i] <- result{items, ok}
				}
			}()
		}
		// Hand out chunks at most 2*workers ahead of the reader.
		ahead := make(chan struct{}, 2*workers)
		go func() {
			defer close(work)
			for i := range chunks {
				select {
				case ahead <- struct{}{}:
				case <-stop:
					return
				}
				select {
				case work <- i:
				case <-stop:
					return
				}
			}
		}()
		defer func() {
			close(stop)
			wg.Wait()
		}()
		for i, c := range chunks {
			r := <-results[i]
			<-ahead
			if !r.ok {
				*failed = true
				return
			}
			for j, n := range r.items {
				if !yield(c.first+j, n) {
					return
				}
			}
		}
	}
}
