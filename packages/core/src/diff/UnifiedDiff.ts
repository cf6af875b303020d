/**
 * Unified diffs for writes, reverts and `diff_config` (backups-audit.md §4): Myers (the `diff` package),
 * `@@ -a,b +c,d @@` hunks with `contextLines` of context (0 allowed), `\ No newline at end of file`,
 * binary detection, omission above 20000 lines on a side or an edit distance above 5000, and a cut at
 * `maxLines` ending in `… N more diff lines`. Pure.
 */
import { structuredPatch } from "diff"
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

/** Lines of a byte buffer, counted without decoding: `\n` bytes, plus one for an unterminated last line. */
export const countByteLines = LineHashes.countLines

const OMITTED: DiffResult = { diff: null, diffTruncated: false, diffOmitted: TOO_LARGE, binary: false, addedLines: 0, removedLines: 0 }
const IDENTICAL: DiffResult = { diff: null, diffTruncated: false, binary: false, addedLines: 0, removedLines: 0 }

const strictUtf8 = new TextDecoder("utf-8", { fatal: true })

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
  if (countByteLines(a) > maxSideLines || countByteLines(b) > maxSideLines) return OMITTED
  // the edit-distance bound on line hashes, before two decoded copies and their line strings exist
  const hashes = options.lineHashes ?? LineHashes.pair(a, b)
  const distance = LineHashes.symmetricDifference(hashes.before(), hashes.after())
  if (distance > (options.maxEditLength ?? 5000)) return OMITTED
  const [oldText, newText] = decodePair(a, b)
  // equal lines always share a hash, so a distance of every line on both sides means none is common
  return distance === hashes.before().length + hashes.after().length ? disjoint(oldText, newText, options) : diffTexts(oldText, newText, options)
}

/** Diffs two texts (see `make`). */
export const makeText = (oldText: string, newText: string, options: Options = {}): DiffResult => {
  const maxSideLines = options.maxSideLines ?? 20000
  if (oldText === newText) return IDENTICAL
  if (countLines(oldText) > maxSideLines || countLines(newText) > maxSideLines) return OMITTED
  if (lineEditLowerBound(oldText.split("\n"), newText.split("\n")) > (options.maxEditLength ?? 5000)) return OMITTED
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

/** Hunk lines of one side: every line prefixed, and jsdiff's marker after an unterminated last line. */
const sideLines = (text: string, prefix: "-" | "+"): Array<string> => {
  if (text === "") return []
  const parts = text.split("\n")
  const terminated = parts[parts.length - 1] === ""
  if (terminated) parts.pop()
  const out = parts.map((l) => prefix + l)
  if (!terminated) out.push("\\ No newline at end of file")
  return out
}

/**
 * The patch of two texts without a line in common: one hunk removing every old line, then adding every
 * new one, exactly as Myers (jsdiff) gives it, without its O((N+M)·D) search.
 */
const disjoint = (oldText: string, newText: string, options: Options): DiffResult => {
  const removed = sideLines(oldText, "-")
  const added = sideLines(newText, "+")
  const count = (ls: ReadonlyArray<string>) => ls.filter((l) => !l.startsWith("\\")).length
  return format([{ oldStart: 1, oldLines: count(removed), newStart: 1, newLines: count(added), lines: [...removed, ...added] }], options)
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
