package simulate

import "strings"

// statement is one pipeline of a shell script.
type statement struct {
	// after is the operator before the statement: "", ";", "&&" or "||".
	after string
	// pipeline are the words of each command of the pipeline.
	pipeline [][]string
	// background is true for a statement ended by "&".
	background bool
}

// splitScript splits a shell script into statements and words, with single
// and double quotes and backslash escapes; it knows no expansions, redirections
// or compound commands (their words are taken as they are).
func splitScript(script string) []statement {
	var (
		out   []statement
		cur   = statement{}
		words []string
		word  strings.Builder
		in    bool // a word is being read
		quote rune
	)
	endWord := func() {
		if in {
			words = append(words, word.String())
			word.Reset()
			in = false
		}
	}
	endCommand := func() {
		endWord()
		if len(words) > 0 {
			cur.pipeline = append(cur.pipeline, words)
		}
		words = nil
	}
	endStatement := func(next string, background bool) {
		endCommand()
		cur.background = background
		if len(cur.pipeline) > 0 {
			out = append(out, cur)
		}
		cur = statement{after: next}
	}
	rs := []rune(script)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) {
				i++
				word.WriteRune(rs[i])
			} else {
				word.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			word.WriteRune(rs[i])
			in = true
		case r == ' ' || r == '\t':
			endWord()
		case r == '#' && !in:
			for i < len(rs) && rs[i] != '\n' {
				i++
			}
			i--
		case r == ';' || r == '\n':
			endStatement(";", false)
		case (r == '&' || r == '|') && i+1 < len(rs) && rs[i+1] == r:
			i++
			endStatement(string([]rune{r, r}), false)
		case r == '&':
			endStatement(";", true)
		case r == '|':
			endCommand()
		default:
			word.WriteRune(r)
			in = true
		}
	}
	endStatement("", false)
	return out
}
