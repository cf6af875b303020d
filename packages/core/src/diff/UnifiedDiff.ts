/**
 * Unified diffs for writes, reverts and `diff_config` (backups-audit.md §4): Myers (the `diff` package),
 * `@@ -a,b +c,d @@` hunks with `contextLines` of context (0 allowed), `\ No newline at end of file`,
 * binary detection, omission above 20000 lines on a side or an edit distance above 5000, and a cut at
 * `maxLines` ending in `… N more diff lines`. A change that is one block between common first and last
 * lines, with no line of either middle on the other side, gets Myers' patch built directly. Pure.
 */
import { structuredPatch } from "diff"
import { isUtf8 } from "node:buffer"
import { equalBytes, hasNul } from "../backup/Hash.js"
import * as LineHashes from "./LineHashes.js"

/** Diff options; every field has the documented default. */
export interface Options {
  /** Labels of the two sides: `before`/`after` (writes) or `current`/`restored` (diff_config). */
  readonly oldLabel?: string
  readonly newLabel?: string
  /** Context lines around each change (default 3; 0 gives none). */
  readonly contextLines?: number
  /** Diff lines kept before the `… N more diff lines` marker (default 200, `MCP_DIFF_MAX_LINES`). */
  readonly maxLines?: number
  /** Above this many lines on either side the diff is omitted (default 20000). */
  readonly maxSideLines?: number
  /** Above this edit distance (in lines) the diff is omitted (default 5000). */
  readonly maxEditLength?: number
  /** `make` only: the two sides' line hashes when the caller already has them (one write's checks share them). */
  readonly lineHashes?: LineHashes.Pair
}

/** The diff fields shared by write results, dryRun, `diff_config` and `revert_file`. */
export interface DiffResult {
  /** The unified diff, or null for binary content, an omitted diff, or identical sides. */
  readonly diff: string | null
  readonly diffTruncated: boolean
  /** Present when the diff was omitted because it was too large. */
  readonly diffOmitted?: "too large to diff"
  readonly binary: boolean
  readonly addedLines: number
  readonly removedLines: number
}

/**
 * A lower bound of the line edit distance between two line lists: the size of their multiset symmetric
 * difference (every line present more often on one side must be inserted or deleted). Linear; used to
 * skip Myers when it would exceed its limit anyway.
 */
export const lineEditLowerBound = (a: ReadonlyArray<string>, b: ReadonlyArray<string>): number => {
  const counts = new Map<string, number>()
  for (const line of a) counts.set(line, (counts.get(line) ?? 0) + 1)
  for (const line of b) counts.set(line, (counts.get(line) ?? 0) - 1)
  let bound = 0
  for (const n of counts.values()) bound += Math.abs(n)
  return bound
}

/** Wall-clock backstop of one Myers run (ms): past it the diff is omitted instead of stalling a write. */
export const MYERS_TIMEOUT_MS = 1000

/** The omission note. */
export const TOO_LARGE = "too large to diff" as const

const countLines = (text: string) => {
  if (text.length === 0) return 0
  let n = 0
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) n++
  return text.endsWith("\n") ? n : n + 1
}

const OMITTED: DiffResult = { diff: null, diffTruncated: false, diffOmitted: TOO_LARGE, binary: false, addedLines: 0, removedLines: 0 }
const IDENTICAL: DiffResult = { diff: null, diffTruncated: false, binary: false, addedLines: 0, removedLines: 0 }

// ignoreBOM keeps a leading byte order mark in the text, so a BOM added or removed shows in the diff
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

/** UTF-8 when both sides are valid UTF-8, else latin1 for both (byte-exact, so no change is hidden). */
const decodePair = (a: Uint8Array, b: Uint8Array): [string, string] => {
  try {
    return [strictUtf8.decode(a), strictUtf8.decode(b)]
  } catch {
    return [Buffer.from(a).toString("latin1"), Buffer.from(b).toString("latin1")]
  }
}

/**
 * Diffs two byte contents; `null` stands for a missing file and is diffed as empty. Identical contents
 * give `diff: null` with zero counts.
 */
export const make = (before: Uint8Array | null, after: Uint8Array | null, options: Options = {}): DiffResult => {
  const a = before ?? new Uint8Array(0)
  const b = after ?? new Uint8Array(0)
  if (hasNul(a) || hasNul(b)) {
    return { diff: null, diffTruncated: false, binary: true, addedLines: 0, removedLines: 0 }
  }
  // identical or too long on a side: answered from the bytes, before two decoded copies exist
  if (equalBytes(a, b)) return IDENTICAL
  const maxSideLines = options.maxSideLines ?? 20000
  const hashes = options.lineHashes ?? LineHashes.pair(a, b)
  if (hashes.beforeSide.table().starts.length > maxSideLines || hashes.afterSide.table().starts.length > maxSideLines) return OMITTED
  // the edit-distance bound on line hashes, before two decoded copies and their line strings exist
  const distance = LineHashes.symmetricDifference(hashes.before(), hashes.after())
  if (distance > (options.maxEditLength ?? 5000)) return OMITTED
  // a single block's edit distance is exactly the distance checked above (its middles share no line, so no hash)
  const single = singleBlock(a, b, hashes, distance, options)
  if (single !== null) return single
  const [oldText, newText] = decodePair(a, b)
  return diffTexts(oldText, newText, options)
}

/** Lines of a text for the edit bound: none for "", and a final newline starts no further (empty) line. */
const textLines = (text: string): Array<string> => {
  if (text === "") return []
  const parts = text.split("\n")
  if (parts[parts.length - 1] === "") parts.pop()
  return parts
}

/** Diffs two texts (see `make`). */
export const makeText = (oldText: string, newText: string, options: Options = {}): DiffResult => {
  const maxSideLines = options.maxSideLines ?? 20000
  if (oldText === newText) return IDENTICAL
  if (countLines(oldText) > maxSideLines || countLines(newText) > maxSideLines) return OMITTED
  if (lineEditLowerBound(textLines(oldText), textLines(newText)) > (options.maxEditLength ?? 5000)) return OMITTED
  return diffTexts(oldText, newText, options)
}

/** Myers and the hunks, once the side and edit-distance limits passed. */
const diffTexts = (oldText: string, newText: string, options: Options): DiffResult => {
  const patch = structuredPatch(options.oldLabel ?? "before", options.newLabel ?? "after", oldText, newText, undefined, undefined, {
    context: Math.max(0, Math.floor(options.contextLines ?? 3)),
    maxEditLength: options.maxEditLength ?? 5000,
    timeout: MYERS_TIMEOUT_MS
  })
  return patch === undefined ? OMITTED : format(patch.hunks, options)
}

interface Hunk {
  readonly oldStart: number
  readonly oldLines: number
  readonly newStart: number
  readonly newLines: number
  readonly lines: ReadonlyArray<string>
}

const NO_NEWLINE = "\\ No newline at end of file"

/**
 * Myers' own patch, built without its O((N+M)·D) search, when the change is one block: `before` is
 * `P X S` and `after` is `P Y S` (P and S the common first and last lines), and no line of X occurs
 * anywhere in `after` nor one of Y in `before`. Every common subsequence then pairs lines of P and S
 * only, so the longest is P and S matched in place, and the patch is one hunk: P's last context
 * lines, X removed, Y added, S's first context lines. Only the lines kept under `maxLines` are decoded.
 * Null when the change is not such a block (line hashes prove absence: a shared hash falls back to Myers).
 */
const singleBlock = (
  a: Uint8Array,
  b: Uint8Array,
  hashes: LineHashes.Pair,
  distance: number,
  options: Options
): DiffResult | null => {
  const ta = hashes.beforeSide.table()
  const tb = hashes.afterSide.table()
  const na = ta.starts.length
  const nb = tb.starts.length
  let p = 0
  let s = 0
  // equal lines always share a hash, so a distance of every line on both sides means none is common
  if (distance !== na + nb) {
    ;({ prefix: p, suffix: s } = hashes.ends())
    if (!hashes.beforeSide.noneIn(hashes.after(), p, na - s) || !hashes.afterSide.noneIn(hashes.before(), p, nb - s)) return null
  }
  const utf8 = isUtf8(a) && isUtf8(b)
  const text = (t: LineHashes.LineTable, i: number) =>
    Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength).toString(utf8 ? "utf8" : "latin1", t.starts[i], t.ends[i])
  // only an unterminated last line ends at the buffer's end
  const unterminated = (t: LineHashes.LineTable, i: number) => t.ends[i]! === t.bytes.length
  const context = Math.max(0, Math.floor(options.contextLines ?? 3))
  const before = Math.min(context, p)
  const after = Math.min(context, s)
  // the hunk in order as [table, from, to, prefix] line ranges; a marker follows each unterminated last line
  const parts: Array<readonly [LineHashes.LineTable, number, number, " " | "-" | "+"]> = [
    [ta, p - before, p, " "],
    [ta, p, na - s, "-"],
    [tb, p, nb - s, "+"],
    [ta, na - s, na - s + after, " "]
  ]
  let total = 0
  for (const [t, from, to] of parts) total += to - from + (to > from && unterminated(t, to - 1) ? 1 : 0)
  const oldLines = before + (na - s - p) + after
  const newLines = before + (nb - s - p) + after
  const start = p - before + 1
  const maxLines = Math.max(1, Math.floor(options.maxLines ?? 200))
  const header = [
    `--- ${options.oldLabel ?? "before"}`,
    `+++ ${options.newLabel ?? "after"}`,
    `@@ -${oldLines === 0 ? start - 1 : start},${oldLines} +${newLines === 0 ? start - 1 : start},${newLines} @@`
  ]
  const all = header.length + total
  const kept = header.slice(0, maxLines)
  for (const [t, from, to, prefix] of parts) {
    for (let i = from; i < to && kept.length < maxLines; i++) {
      kept.push(prefix + text(t, i))
      if (unterminated(t, i) && kept.length < maxLines) kept.push(NO_NEWLINE)
    }
  }
  if (all > maxLines) kept.push(`… ${all - maxLines} more diff lines`)
  return { diff: `${kept.join("\n")}\n`, diffTruncated: all > maxLines, binary: false, addedLines: nb - s - p, removedLines: na - s - p }
}

const format = (hunks: ReadonlyArray<Hunk>, options: Options): DiffResult => {
  const maxLines = Math.max(1, Math.floor(options.maxLines ?? 200))
  const lines: Array<string> = [`--- ${options.oldLabel ?? "before"}`, `+++ ${options.newLabel ?? "after"}`]
  let added = 0
  let removed = 0
  for (const hunk of hunks) {
    // GNU convention: an empty side names the line before it (jsdiff's formatPatch does the same).
    const oldStart = hunk.oldLines === 0 ? hunk.oldStart - 1 : hunk.oldStart
    const newStart = hunk.newLines === 0 ? hunk.newStart - 1 : hunk.newStart
    lines.push(`@@ -${oldStart},${hunk.oldLines} +${newStart},${hunk.newLines} @@`)
    for (const line of hunk.lines) {
      if (line.startsWith("+")) added++
      else if (line.startsWith("-")) removed++
      lines.push(line)
    }
  }
  const truncated = lines.length > maxLines
  const kept = truncated ? [...lines.slice(0, maxLines), `… ${lines.length - maxLines} more diff lines`] : lines
  return { diff: `${kept.join("\n")}\n`, diffTruncated: truncated, binary: false, addedLines: added, removedLines: removed }
}
