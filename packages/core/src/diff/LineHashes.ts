/**
 * Lines of a byte buffer as sorted 53-bit hashes (split at `\n`, the terminator excluded, a final newline
 * starting no further line), and the multiset counts the diff and delta limits are checked with. Different
 * lines may share a hash, and a line differing only in its terminator hashes alike: both only lower the
 * counts, so a count used as a lower bound of an edit distance stays one. No line strings are made. Pure.
 */

/** Where each line of a byte buffer starts and ends (the end excludes the `\n`). */
export interface LineTable {
  readonly bytes: Uint8Array
  readonly starts: Int32Array
  readonly ends: Int32Array
}

/** Lines of a byte buffer: `\n` bytes, plus one for an unterminated last line. */
export const countLines = (bytes: Uint8Array): number => {
  let n = 0
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, i + 1)) n++
  return bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? n + 1 : n
}

/** The line table of a buffer. */
export const lineTable = (bytes: Uint8Array): LineTable => {
  const n = countLines(bytes)
  const starts = new Int32Array(n)
  const ends = new Int32Array(n)
  let line = 0
  let start = 0
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, start)) {
    starts[line] = start
    ends[line++] = i
    start = i + 1
  }
  if (line < n) {
    starts[line] = start
    ends[line] = bytes.length
  }
  return { bytes, starts, ends }
}

/** A 53-bit hash of line `i` (two FNV-1a variants). */
export const lineHash = (t: LineTable, i: number): number => {
  let h1 = 0x811c9dc5
  let h2 = 0x01000193
  for (let k = t.starts[i]!; k < t.ends[i]!; k++) {
    const c = t.bytes[k]!
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15)
  }
  return (h1 >>> 0) * 0x200000 + (h2 >>> 11)
}

/** The hashes of lines `[from, to)` of a table, sorted ascending. */
export const sortedHashes = (t: LineTable, from = 0, to = t.starts.length): Float64Array => {
  const out = new Float64Array(Math.max(0, to - from))
  for (let k = 0; k < out.length; k++) out[k] = lineHash(t, from + k)
  return out.sort()
}

/** The sorted line hashes of a whole buffer. */
export const ofBytes = (bytes: Uint8Array): Float64Array => sortedHashes(lineTable(bytes))

/** How many items of sorted `of` have no partner in sorted `from` (as multisets). */
export const missingFrom = (from: Float64Array, of: Float64Array): number => {
  let missing = 0
  for (let i = 0, j = 0; i < of.length; i++) {
    while (j < from.length && from[j]! < of[i]!) j++
    if (j < from.length && from[j] === of[i]) j++
    else missing++
  }
  return missing
}

/** The size of the multiset symmetric difference of two sorted hash lists: a lower bound of the line edit distance. */
export const symmetricDifference = (a: Float64Array, b: Float64Array): number => {
  const unmatched = missingFrom(b, a)
  return unmatched + (b.length - (a.length - unmatched))
}

/** Line `i` of one table equals line `j` of another, its terminator (or lack of one) included. */
export const sameLine = (a: LineTable, i: number, b: LineTable, j: number): boolean => {
  const length = a.ends[i]! - a.starts[i]!
  if (length !== b.ends[j]! - b.starts[j]!) return false
  if ((a.ends[i]! < a.bytes.length) !== (b.ends[j]! < b.bytes.length)) return false
  for (let k = 0; k < length; k++) if (a.bytes[a.starts[i]! + k] !== b.bytes[b.starts[j]! + k]) return false
  return true
}

/** How many lines two buffers share at their start and, not overlapping those, at their end. */
export interface Ends {
  readonly prefix: number
  readonly suffix: number
}

/** The common first and last lines of two tables (the suffix never reaches into the prefix). */
export const commonEnds = (a: LineTable, b: LineTable): Ends => {
  const na = a.starts.length
  const nb = b.starts.length
  let prefix = 0
  while (prefix < na && prefix < nb && sameLine(a, prefix, b, prefix)) prefix++
  let suffix = 0
  while (suffix < na - prefix && suffix < nb - prefix && sameLine(a, na - 1 - suffix, b, nb - 1 - suffix)) suffix++
  return { prefix, suffix }
}

/** One buffer's lines: its table, its line hashes in line order and those sorted, each made on first use. */
export interface Side {
  readonly table: () => LineTable
  readonly sorted: () => Float64Array
  /** The sorted hashes of lines `[from, to)`: taken from the line-order hashes once they exist, else hashed. */
  readonly sortedRange: (from: number, to: number) => Float64Array
  /** True when no line in `[from, to)` has its hash in the sorted list (so none equals a line it stands for). */
  readonly noneIn: (sortedOther: Float64Array, from: number, to: number) => boolean
}

/** Binary search in a sorted list. */
const contains = (sorted: Float64Array, h: number): boolean => {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (sorted[mid]! < h) lo = mid + 1
    else hi = mid
  }
  return lo < sorted.length && sorted[lo] === h
}

const lazy = <A>(f: () => A): (() => A) => {
  let value: A | undefined
  let done = false
  return () => {
    if (!done) {
      value = f()
      done = true
    }
    return value as A
  }
}

/** The side of a buffer. */
export const side = (bytes: Uint8Array): Side => {
  const table = lazy(() => lineTable(bytes))
  let inOrder: Float64Array | undefined
  const hashes = () => {
    if (inOrder === undefined) {
      const t = table()
      inOrder = new Float64Array(t.starts.length)
      for (let i = 0; i < inOrder.length; i++) inOrder[i] = lineHash(t, i)
    }
    return inOrder
  }
  const sorted = lazy(() => hashes().slice().sort())
  return {
    table,
    sorted,
    sortedRange: (from, to) =>
      from === 0 && to === table().starts.length
        ? sorted()
        : inOrder !== undefined
          ? inOrder.slice(from, to).sort()
          : sortedHashes(table(), from, to),
    noneIn: (sortedOther, from, to) => {
      const own = hashes()
      for (let i = from; i < to; i++) if (contains(sortedOther, own[i]!)) return false
      return true
    }
  }
}

/**
 * Both sides of a before/after pair and their common first and last lines, each computed on first use
 * and then kept (share it between the checks of one write so each side is split and hashed once).
 */
export interface Pair {
  /** The sorted line hashes of the before side. */
  readonly before: () => Float64Array
  /** The sorted line hashes of the after side. */
  readonly after: () => Float64Array
  readonly beforeSide: Side
  readonly afterSide: Side
  readonly ends: () => Ends
}

/** A lazy pair for two buffers. */
export const pair = (before: Uint8Array, after: Uint8Array): Pair => {
  const beforeSide = side(before)
  const afterSide = side(after)
  return {
    before: beforeSide.sorted,
    after: afterSide.sorted,
    beforeSide,
    afterSide,
    ends: lazy(() => commonEnds(beforeSide.table(), afterSide.table()))
  }
}

/** The same pair seen the other way round (after becomes before). */
export const swap = (p: Pair): Pair => ({
  before: p.after,
  after: p.before,
  beforeSide: p.afterSide,
  afterSide: p.beforeSide,
  ends: p.ends
})
