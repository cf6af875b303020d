/**
 * Large-change detection for writes (guardrails.md §4). Pure and deterministic; a flag and its reasons
 * for dryRun, results and the audit record. It never gates a write by itself.
 */
import { diffArrays } from "diff"
import * as LineHashes from "../diff/LineHashes.js"

/** Why a write counts as large. */
export type LargeChangeReason = "new-file" | "size" | "shrink" | "churn" | "emptied"

/** The verdict: `isLargeChange` is true exactly when `reasons` is non-empty. */
export interface LargeChange {
  readonly isLargeChange: boolean
  readonly reasons: ReadonlyArray<LargeChangeReason>
}

/** `MCP_LARGE_FILE_BYTES` default: 1 MiB. */
export const DEFAULT_LARGE_FILE_BYTES = 1024 * 1024
/** `shrink` applies from this previous size on. */
export const SHRINK_MIN_BYTES = 1024
/** `churn` applies from this many previous lines on. */
export const CHURN_MIN_LINES = 20

/**
 * Above this many differing lines (after the common prefix and suffix) the line diff falls back to an
 * order-insensitive count, so the work stays bounded on big rewrites.
 */
const DIFF_LINE_LIMIT = 500

const decoder = new TextDecoder("latin1")

/** Lines of a byte buffer (byte-exact; a final newline does not start another line). */
export const splitLines = (bytes: Uint8Array): Array<string> => {
  if (bytes.length === 0) return []
  const text = decoder.decode(bytes)
  const lines = text.split("\n")
  if (lines[lines.length - 1] === "") lines.pop()
  return lines
}

/** The lines `[from, to)` of a table as latin1 strings (byte-exact). */
const linesOf = (t: LineHashes.LineTable, from: number, to: number): Array<string> =>
  Array.from({ length: Math.max(0, to - from) }, (_, k) => decoder.decode(t.bytes.subarray(t.starts[from + k]!, t.ends[from + k]!)))

/**
 * Number of previous lines that did not survive into the new content (removed or modified): common
 * prefix and suffix first, then an LCS when both middles are small, else an order-insensitive count
 * over line hashes, so a multi-MiB rewrite costs two small typed arrays instead of a string per line.
 */
export const changedLines = (beforeBytes: Uint8Array, afterBytes: Uint8Array, lineHashes?: LineHashes.Pair): number => {
  const hashes = lineHashes ?? LineHashes.pair(beforeBytes, afterBytes)
  const b = hashes.beforeSide.table()
  const a = hashes.afterSide.table()
  const { prefix, suffix } = hashes.ends()
  const start = prefix
  const endB = b.starts.length - suffix
  const endA = a.starts.length - suffix
  if (endB === start) return 0
  // The middles' previous lines the new side lacks, as multisets of line hashes (taken from the whole
  // sides' hashes when a caller already made them; a small middle of a large file hashes only itself).
  const lacking = LineHashes.missingFrom(hashes.afterSide.sortedRange(start, endA), hashes.beforeSide.sortedRange(start, endB))
  // Above the LCS bound the order-insensitive count is the answer; below it, when no previous line has an
  // equal line on the new side the LCS is empty and the count is exact too.
  if (endB - start > DIFF_LINE_LIMIT || endA - start > DIFF_LINE_LIMIT || lacking === endB - start) return lacking
  const parts = diffArrays(linesOf(b, start, endB), linesOf(a, start, endA))
  return parts.reduce((n, p) => (p.removed ? n + p.value.length : n), 0)
}

/** Applies the five rules of §4 to the previous content (null = the file did not exist) and the new one. */
export const largeChange = (input: {
  readonly before: Uint8Array | null
  readonly after: Uint8Array
  readonly largeFileBytes?: number
  /** The line hashes of `before` and `after`, when the caller already has them. */
  readonly lineHashes?: LineHashes.Pair
}): LargeChange => {
  const limit = input.largeFileBytes ?? DEFAULT_LARGE_FILE_BYTES
  const { before, after } = input
  const reasons: Array<LargeChangeReason> = []
  if (before === null) {
    reasons.push("new-file")
    if (after.length > limit) reasons.push("size")
    return { isLargeChange: true, reasons }
  }
  if (before.length > limit || after.length > limit) reasons.push("size")
  if (before.length >= SHRINK_MIN_BYTES && after.length < before.length * 0.5) reasons.push("shrink")
  const hashes = input.lineHashes ?? LineHashes.pair(before, after)
  const beforeLines = hashes.beforeSide.table().starts.length
  if (beforeLines >= CHURN_MIN_LINES) {
    const changed = changedLines(before, after, hashes)
    if (changed * 2 >= beforeLines) reasons.push("churn")
  }
  if (before.length > 0 && after.length === 0) reasons.push("emptied")
  return { isLargeChange: reasons.length > 0, reasons }
}
