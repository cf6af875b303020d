/**
 * Large-change detection for writes (guardrails.md §4). Pure and deterministic; a flag and its reasons
 * for dryRun, results and the audit record. It never gates a write by itself.
 */
import { diffArrays } from "diff"

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

/** Number of previous lines that did not survive into the new content (removed or modified). */
export const changedLines = (beforeAll: ReadonlyArray<string>, afterAll: ReadonlyArray<string>): number => {
  let start = 0
  while (start < beforeAll.length && start < afterAll.length && beforeAll[start] === afterAll[start]) start++
  let endB = beforeAll.length
  let endA = afterAll.length
  while (endB > start && endA > start && beforeAll[endB - 1] === afterAll[endA - 1]) {
    endB--
    endA--
  }
  const before = beforeAll.slice(start, endB)
  const after = afterAll.slice(start, endA)
  if (before.length === 0) return 0
  if (before.length <= DIFF_LINE_LIMIT && after.length <= DIFF_LINE_LIMIT) {
    const parts = diffArrays(before, after)
    return parts.reduce((n, p) => (p.removed ? n + p.value.length : n), 0)
  }
  const pool = new Map<string, number>()
  for (const l of after) pool.set(l, (pool.get(l) ?? 0) + 1)
  let changed = 0
  for (const l of before) {
    const left = pool.get(l) ?? 0
    if (left > 0) pool.set(l, left - 1)
    else changed++
  }
  return changed
}

/** Applies the five rules of §4 to the previous content (null = the file did not exist) and the new one. */
export const largeChange = (input: {
  readonly before: Uint8Array | null
  readonly after: Uint8Array
  readonly largeFileBytes?: number
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
  const beforeLines = splitLines(before)
  if (beforeLines.length >= CHURN_MIN_LINES) {
    const changed = changedLines(beforeLines, splitLines(after))
    if (changed * 2 >= beforeLines.length) reasons.push("churn")
  }
  if (before.length > 0 && after.length === 0) reasons.push("emptied")
  return { isLargeChange: reasons.length > 0, reasons }
}
