/**
 * @internal A real bash parse (mvdan/sh, GopherJS build) and word evaluation "as the shell does":
 * quotes removed, escapes applied, `$'…'` decoded, tilde and braces expanded. Anything only known at run
 * time (parameter, command, arithmetic and process substitutions) becomes the DYN sentinel; unquoted glob
 * characters become the STAR/QMARK sentinels so that quoted `*` stays literal.
 */
import sh, { type ShNode } from "mvdan-sh"

const syntax = sh.syntax

/** Run-time content (may contain `/`). */
export const DYN = "\u0001"
/** Unquoted `*` (one path segment). */
export const STAR = "\u0002"
/** Unquoted `?` or `[…]` (one character). */
export const QMARK = "\u0003"
const B_OPEN = "\u0004"
const B_COMMA = "\u0005"
const B_CLOSE = "\u0006"

export type Node = ShNode

export const nodeType = (n: Node): string => (n === null || n === undefined ? "" : syntax.NodeType(n))

export type ParseResult = { readonly ok: true; readonly file: Node } | { readonly ok: false; readonly error: string }

/** Parses bash source; syntax errors and NUL bytes are failures, never exceptions. */
export const parseScript = (src: string): ParseResult => {
  if (src.includes("\u0000")) return { ok: false, error: "contains a NUL byte" }
  try {
    const file = syntax.NewParser().Parse(src, "")
    return { ok: true, file }
  } catch (e) {
    const err = e as { Error?: () => string; message?: string }
    const text = typeof err?.Error === "function" ? err.Error() : String(err?.message ?? e)
    return { ok: false, error: text }
  }
}

/** Visits every node under `node` (mvdan/sh's own walker). */
export const walkNodes = (node: Node, visit: (n: Node) => void): void => {
  if (node === null || node === undefined) return
  syntax.Walk(node, (n) => {
    if (n !== null && n !== undefined) visit(n)
    return true
  })
}

export const list = (v: unknown): ReadonlyArray<Node> => (Array.isArray(v) ? v : [])

/** Statement lists of every command and process substitution inside `node`, not descending into them. */
export const collectSubstitutions = (node: Node): ReadonlyArray<{ kind: "cmd" | "proc"; stmts: ReadonlyArray<Node> }> => {
  const out: Array<{ kind: "cmd" | "proc"; stmts: ReadonlyArray<Node> }> = []
  if (node === null || node === undefined) return out
  syntax.Walk(node, (n) => {
    if (n === null || n === undefined) return true
    const t = syntax.NodeType(n)
    if (t === "CmdSubst") {
      out.push({ kind: "cmd", stmts: list(n.Stmts) })
      return false
    }
    if (t === "ProcSubst") {
      out.push({ kind: "proc", stmts: list(n.Stmts) })
      return false
    }
    return true
  })
  return out
}

// ---------------------------------------------------------------------------------------------------
// Escapes
// ---------------------------------------------------------------------------------------------------

/** `$'…'` (ANSI-C quoting). */
export const ansiC = (s: string): string => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c !== "\\" || i + 1 >= s.length) {
      out += c
      continue
    }
    const n = s[++i]!
    switch (n) {
      case "n": out += "\n"; break
      case "t": out += "\t"; break
      case "r": out += "\r"; break
      case "a": out += "\x07"; break
      case "b": out += "\b"; break
      case "e":
      case "E": out += "\x1b"; break
      case "f": out += "\f"; break
      case "v": out += "\v"; break
      case "\\": out += "\\"; break
      case "'": out += "'"; break
      case '"': out += '"'; break
      case "?": out += "?"; break
      case "x": {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1))
        if (m) { out += String.fromCharCode(parseInt(m[0], 16)); i += m[0].length } else out += "\\x"
        break
      }
      case "u":
      case "U": {
        const m = (n === "u" ? /^[0-9a-fA-F]{1,4}/ : /^[0-9a-fA-F]{1,8}/).exec(s.slice(i + 1))
        if (m) { out += String.fromCodePoint(Math.min(parseInt(m[0], 16), 0x10ffff)); i += m[0].length } else out += "\\" + n
        break
      }
      case "c": {
        const ch = s[i + 1]
        if (ch !== undefined) { out += String.fromCharCode(ch.toUpperCase().charCodeAt(0) ^ 0x40); i++ }
        break
      }
      default: {
        const m = /^[0-7]{1,3}/.exec(s.slice(i))
        if (m) { out += String.fromCharCode(parseInt(m[0], 8) & 0xff); i += m[0].length - 1 } else out += "\\" + n
      }
    }
  }
  // bash stops a $'…' string at a NUL byte
  const nul = out.indexOf("\u0000")
  return nul >= 0 ? out.slice(0, nul) : out
}

/** Unquoted literal: backslash quotes the next character; globs and braces become sentinels. */
const unquotedLit = (s: string, atWordStart: boolean): string => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === "\\") {
      if (i + 1 < s.length) {
        const n = s[++i]!
        if (n !== "\n") out += n
      }
      continue
    }
    if (c === "~" && i === 0 && atWordStart) {
      const rest = s.slice(1)
      const end = rest.indexOf("/")
      const user = end >= 0 ? rest.slice(0, end) : rest
      if (user === "" || user === "root") {
        out += "/root"
        i += user.length
      } else if (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(user)) {
        out += DYN
        i += user.length
      } else out += c
      continue
    }
    if (c === "*") out += STAR
    else if (c === "?") out += QMARK
    else if (c === "[" && s.indexOf("]", i + 2) > i) {
      out += QMARK
      i = s.indexOf("]", i + 2)
    } else if (c === "{") out += B_OPEN
    else if (c === ",") out += B_COMMA
    else if (c === "}") out += B_CLOSE
    else out += c
  }
  return out
}

/** Literal inside double quotes: `\` quotes only `$`, `` ` ``, `"`, `\` and newline. */
const doubleQuotedLit = (s: string): string => {
  let out = ""
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (c === "\\" && i + 1 < s.length && "$`\"\\\n".includes(s[i + 1]!)) {
      const n = s[++i]!
      if (n !== "\n") out += n
      continue
    }
    out += c
  }
  return out
}

// ---------------------------------------------------------------------------------------------------
// Words
// ---------------------------------------------------------------------------------------------------

/** Variables whose value is known from a literal assignment earlier in the script (null = unknown). */
export type Vars = ReadonlyMap<string, string | null>

const simpleParamName = (pe: Node): string | undefined => {
  if (pe.Excl || pe.Length || pe.Width) return undefined
  if (pe.Index || pe.Slice || pe.Repl || pe.Exp) return undefined
  const name = pe.Param?.Value
  return typeof name === "string" ? name : undefined
}

const partsText = (parts: ReadonlyArray<Node>, vars: Vars, quoted: boolean, wordStart: boolean): string => {
  let out = ""
  parts.forEach((p, idx) => {
    const t = nodeType(p)
    switch (t) {
      case "Lit":
        out += quoted ? doubleQuotedLit(String(p.Value)) : unquotedLit(String(p.Value), wordStart && idx === 0)
        break
      case "SglQuoted":
        out += p.Dollar ? ansiC(String(p.Value)) : String(p.Value)
        break
      case "DblQuoted":
        out += partsText(list(p.Parts), vars, true, false)
        break
      case "ParamExp": {
        const name = simpleParamName(p)
        const known = name !== undefined ? vars.get(name) : undefined
        out += typeof known === "string" ? known : DYN
        break
      }
      case "ExtGlob":
        out += STAR
        break
      default:
        // CmdSubst, ArithmExp, ProcSubst, BraceExp: only known at run time
        out += DYN
    }
  })
  return out
}

const expandBraces = (s: string, budget: { n: number }): Array<string> => {
  const open = s.indexOf(B_OPEN)
  if (open < 0) return [s]
  // find the matching close and top-level commas
  let depth = 0
  const commas: Array<number> = []
  let close = -1
  for (let i = open; i < s.length; i++) {
    const c = s[i]
    if (c === B_OPEN) depth++
    else if (c === B_CLOSE) {
      depth--
      if (depth === 0) { close = i; break }
    } else if (c === B_COMMA && depth === 1) commas.push(i)
  }
  const restore = (x: string) => x.replaceAll(B_OPEN, "{").replaceAll(B_CLOSE, "}").replaceAll(B_COMMA, ",")
  if (close < 0) return [restore(s)]
  const pre = s.slice(0, open)
  const post = s.slice(close + 1)
  const inner = s.slice(open + 1, close)
  let alternatives: Array<string>
  if (commas.length > 0) {
    alternatives = []
    let start = open + 1
    for (const c of [...commas, close]) {
      alternatives.push(s.slice(start, c))
      start = c + 1
    }
  } else {
    const range = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])$/.exec(inner)
    if (range === null) {
      return expandBraces(pre + "{" + inner + "}" + post, budget).map(restore)
    }
    const a = range[1]!
    const b = range[2]!
    alternatives = []
    if (/^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
      const x = parseInt(a, 10)
      const y = parseInt(b, 10)
      const step = x <= y ? 1 : -1
      for (let i = x; step > 0 ? i <= y : i >= y; i += step) {
        alternatives.push(String(i))
        if (alternatives.length > 64) break
      }
    } else {
      const x = a.charCodeAt(0)
      const y = b.charCodeAt(0)
      const step = x <= y ? 1 : -1
      for (let i = x; step > 0 ? i <= y : i >= y; i += step) alternatives.push(String.fromCharCode(i))
    }
  }
  const out: Array<string> = []
  for (const alt of alternatives) {
    for (const e of expandBraces(pre + alt + post, budget)) {
      if (budget.n-- <= 0) return out.length > 0 ? out : [restore(s)]
      out.push(e)
    }
  }
  return out.map(restore)
}

/** A word evaluated into the fields the shell would produce (brace expansion may give several). */
export const evalWord = (word: Node, vars: Vars): Array<string> => {
  const text = partsText(list(word?.Parts), vars, false, true)
  const fields = expandBraces(text, { n: 64 })
  // an unquoted word that expands to nothing (e.g. `$empty`) is still a field for our purposes
  return fields.length > 0 ? fields : [""]
}

/** True when the word contains an expansion (`$x`, `${x}`, `$(…)`, `` `…` ``, `$((…))`), quoted or not. */
export const wordHasExpansion = (word: Node): boolean => {
  const visit = (parts: ReadonlyArray<Node>): boolean =>
    parts.some((p) => {
      const t = nodeType(p)
      if (t === "DblQuoted") return visit(list(p.Parts))
      return t === "ParamExp" || t === "CmdSubst" || t === "ArithmExp" || t === "ProcSubst"
    })
  return visit(list(word?.Parts))
}

/** True when the field holds run-time content. */
export const isDynamic = (f: string): boolean => f.includes(DYN)
/** True when the field holds unquoted glob characters. */
export const isGlob = (f: string): boolean => f.includes(STAR) || f.includes(QMARK)

/** Human-readable form of a field for reasons. */
export const show = (f: string): string => f.replaceAll(DYN, "$…").replaceAll(STAR, "*").replaceAll(QMARK, "?")

/** Regex for a field with glob sentinels (STAR/QMARK do not cross `/`; DYN matches anything). */
export const fieldRegex = (f: string): RegExp => {
  let src = ""
  for (const c of f) {
    if (c === STAR) src += "[^/]*"
    else if (c === QMARK) src += "[^/]"
    else if (c === DYN) src += ".*"
    else src += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")
  }
  return new RegExp(`^${src}$`, "s")
}

/** Does the (possibly globbed) field match the literal string? */
export const fieldMatches = (f: string, literal: string): boolean =>
  isGlob(f) || isDynamic(f) ? fieldRegex(f).test(literal) : f === literal
