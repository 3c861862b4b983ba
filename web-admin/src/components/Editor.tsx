import { useEffect, useRef } from 'react'
import { EditorView, basicSetup } from 'codemirror'
import { EditorState, Compartment } from '@codemirror/state'
import { StreamLanguage } from '@codemirror/language'
import { json } from '@codemirror/lang-json'
import { setDiagnostics, type Diagnostic } from '@codemirror/lint'
import { offsetOf, type Problem } from '../lib/diagnostics'

// Rego has no CodeMirror mode on npm; this tokenizer covers what reading a
// policy needs: keywords, strings, numbers, comments.
const regoKeywords = new Set([
  'package', 'import', 'default', 'if', 'else', 'not', 'some', 'every', 'in', 'contains', 'with', 'as', 'true', 'false', 'null',
])
const rego = StreamLanguage.define<{ raw: boolean }>({
  startState: () => ({ raw: false }),
  token(stream, state) {
    if (state.raw) {
      if (stream.skipTo('`')) {
        stream.next()
        state.raw = false
      } else stream.skipToEnd()
      return 'string'
    }
    if (stream.eatSpace()) return null
    if (stream.match('#')) {
      stream.skipToEnd()
      return 'comment'
    }
    if (stream.match('`')) {
      state.raw = true
      return 'string'
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return 'string'
    if (stream.match(/^-?\d+(\.\d+)?([eE][+-]?\d+)?/)) return 'number'
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_]*/)) return regoKeywords.has(stream.current()) ? 'keyword' : 'variableName'
    stream.next()
    return null
  },
})

// Editor is a CodeMirror 6 editor of one file, with the validation problems
// that point into it shown inline at their row and column.
export function Editor({ value, onChange, language, problems, label }: {
  value: string
  onChange: (v: string) => void
  language: 'rego' | 'json'
  problems: Problem[]
  label: string
}) {
  const host = useRef<HTMLDivElement>(null)
  const view = useRef<EditorView>(null)
  const lang = useRef(new Compartment())
  const changed = useRef(onChange)
  changed.current = onChange

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          lang.current.of(language === 'rego' ? rego : json()),
          EditorView.contentAttributes.of({ 'aria-label': label }),
          EditorView.updateListener.of((u) => u.docChanged && changed.current(u.state.doc.toString())),
        ],
      }),
    })
    view.current = v
    return () => v.destroy()
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  // Outside changes (another file, a structured edit) replace the text.
  useEffect(() => {
    const v = view.current
    if (v && v.state.doc.toString() !== value) v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } })
  }, [value])
  useEffect(() => {
    view.current?.dispatch({ effects: lang.current.reconfigure(language === 'rego' ? rego : json()) })
  }, [language])
  useEffect(() => {
    const v = view.current
    if (!v) return
    const text = v.state.doc.toString()
    const diags: Diagnostic[] = problems.map((p) => {
      const from = offsetOf(text, p.row, p.col)
      return { from, to: Math.min(from + 1, text.length), severity: 'error', message: p.message }
    })
    v.dispatch(setDiagnostics(v.state, diags))
  }, [problems, value])

  return <div className="editor" ref={host} />
}
