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
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) n++
  return bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a ? n + 1 : n
}

/** The line table of a buffer. */
export const lineTable = (bytes: Uint8Array): LineTable => {
  const n = countLines(bytes)
  const starts = new Int32Array(n)
  const ends = new Int32Array(n)
  let line = 0
  let start = 0
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x0a) {
      starts[line] = start
      ends[line++] = i
      start = i + 1
    }
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

/** The sorted line hashes of a before/after pair, each computed on first use and then kept. */
export interface Pair {
  readonly before: () => Float64Array
  readonly after: () => Float64Array
}

const memo = (f: () => Float64Array): (() => Float64Array) => {
  let value: Float64Array | undefined
  return () => (value ??= f())
}

/** A lazy pair for two buffers (share it between the checks of one write so each side is hashed once). */
export const pair = (before: Uint8Array, after: Uint8Array): Pair => ({
  before: memo(() => ofBytes(before)),
  after: memo(() => ofBytes(after))
})
