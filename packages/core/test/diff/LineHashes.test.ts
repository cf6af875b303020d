import { describe, expect, it } from "@effect/vitest"
import { diffArrays } from "diff"
import * as fc from "fast-check"
import * as Option from "effect/Option"
import * as Rdiff from "@homelab-mcp/core/backup/Rdiff"
import { changedLines, largeChange } from "@homelab-mcp/core/guardrails/LargeChange"
import * as LineHashes from "@homelab-mcp/core/diff/LineHashes"
import * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"

const enc = (s: string) => new TextEncoder().encode(s)

/** Lines as the module defines them: split at `\n`, terminator excluded, a final newline starting no line. */
const linesOf = (s: string): Array<string> => {
  if (s === "") return []
  const parts = s.split("\n")
  if (parts[parts.length - 1] === "") parts.pop()
  return parts
}

const counts = (xs: ReadonlyArray<string>) => {
  const m = new Map<string, number>()
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1)
  return m
}

/** Items of `of` without a partner in `from`, as multisets of strings. */
const missingReference = (from: ReadonlyArray<string>, of: ReadonlyArray<string>) => {
  const c = counts(from)
  let missing = 0
  for (const x of of) {
    const n = c.get(x) ?? 0
    if (n > 0) c.set(x, n - 1)
    else missing++
  }
  return missing
}

/** Texts over a tiny alphabet of lines, so repeats, moves and a missing final newline all occur. */
const text = fc
  .tuple(fc.array(fc.constantFrom("a", "b", "c", "dd", "", "é", "x y"), { maxLength: 30 }), fc.boolean())
  .map(([ls, terminated]) => (ls.length === 0 ? "" : ls.join("\n") + (terminated ? "\n" : "")))

describe("LineHashes", () => {
  it("counts lines like wc plus an unterminated last one", () => {
    expect([ "", "a", "a\n", "a\nb", "\n\n", "a\n\nb\n"].map((s) => LineHashes.countLines(enc(s)))).toEqual([0, 1, 1, 2, 2, 3])
    expect(LineHashes.ofBytes(enc("a\n\nb\n")).length).toBe(3)
  })

  it("missingFrom and symmetricDifference equal the multiset counts over the lines (property)", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const ha = LineHashes.ofBytes(enc(a))
        const hb = LineHashes.ofBytes(enc(b))
        const la = linesOf(a)
        const lb = linesOf(b)
        expect(LineHashes.missingFrom(ha, hb)).toBe(missingReference(la, lb))
        expect(LineHashes.symmetricDifference(ha, hb)).toBe(missingReference(la, lb) + missingReference(lb, la))
      }),
      { numRuns: 500 }
    )
  })

  it("the symmetric difference never exceeds the line edit distance Myers finds (property)", () => {
    fc.assert(
      fc.property(text, text, (a, b) => {
        const edits = diffArrays(linesOf(a), linesOf(b)).reduce((n, p) => (p.added || p.removed ? n + p.count : n), 0)
        expect(LineHashes.symmetricDifference(LineHashes.ofBytes(enc(a)), LineHashes.ofBytes(enc(b)))).toBeLessThanOrEqual(edits)
      }),
      { numRuns: 500 }
    )
  })

  it("a window of a table hashes exactly its lines", () => {
    const t = LineHashes.lineTable(enc("a\nb\nc\nd"))
    const window = Array.from(LineHashes.sortedHashes(t, 1, 3))
    expect(window).toEqual([LineHashes.lineHash(t, 1), LineHashes.lineHash(t, 2)].sort((x, y) => x - y))
    expect(LineHashes.sortedHashes(t, 3, 1).length).toBe(0)
    expect(LineHashes.lineHash(t, 3)).toBe(LineHashes.lineHash(LineHashes.lineTable(enc("d\n")), 0))
  })

  it("a pair hashes each side once, on first use", () => {
    const p = LineHashes.pair(enc("a\nb\n"), enc("b\n"))
    const before = p.before()
    expect(p.before()).toBe(before)
    expect(Array.from(p.after())).toEqual(Array.from(LineHashes.ofBytes(enc("b\n"))))
  })

  it("the diff and the delta use the hashes they are given (one write's checks share them)", () => {
    const a = enc("line 1\nline 2\nline 3\n")
    const b = enc("line 1\nline 2 changed\nline 3\n")
    // hashes claiming 6000 differing lines: both give up without looking at the real lines
    const far: LineHashes.Pair = { ...LineHashes.pair(a, b), before: () => Float64Array.from({ length: 6000 }, (_, i) => i), after: () => new Float64Array(0) }
    expect(UnifiedDiff.make(a, b, { lineHashes: far })).toMatchObject({ diff: null, diffOmitted: UnifiedDiff.TOO_LARGE })
    expect(Option.isNone(Rdiff.make(b, a, { maxEditLength: 5000, lineHashes: far }))).toBe(true)
    // and without them each computes its own
    expect(UnifiedDiff.make(a, b)).toMatchObject({ addedLines: 1, removedLines: 1 })
    expect(Option.isSome(Rdiff.make(b, a, { maxEditLength: 5000 }))).toBe(true)
  })

  it("large-change churn counts the same from whole-file hashes as from its own middles (property)", () => {
    const big = fc
      .tuple(fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 520, maxLength: 700 }), fc.boolean())
      .map(([ns, terminated]) => ns.map((n) => `k${n}`).join("\n") + (terminated ? "\n" : ""))
    fc.assert(
      fc.property(big, big, fc.integer({ min: 0, max: 50 }), (a, b, keep) => {
        // a shared prefix and suffix, so the middles differ from the whole files
        const head = linesOf(a).slice(0, keep).join("\n")
        const before = enc(`${head}\n${a}tail\n`)
        const after = enc(`${head}\n${b}tail\n`)
        const hashes = LineHashes.pair(before, after)
        expect(changedLines(before, after, hashes)).toBe(changedLines(before, after))
        expect(largeChange({ before, after, lineHashes: hashes })).toEqual(largeChange({ before, after }))
      }),
      { numRuns: 60 }
    )
  })

  it("a side's line ranges equal hashing the range, before and after its whole-side hashes exist (property)", () => {
    const text = fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 80 }).map((ns) => ns.map((n) => `k${n}`).join("\n") + "\n")
    fc.assert(
      fc.property(text, fc.nat(), fc.nat(), (t, x, y) => {
        const bytes = enc(t)
        const side = LineHashes.side(bytes)
        const n = side.table().starts.length
        const [from, to] = [Math.min(x % (n + 1), y % (n + 1)), Math.max(x % (n + 1), y % (n + 1))]
        const expected = Array.from(LineHashes.sortedHashes(LineHashes.lineTable(bytes), from, to))
        expect(Array.from(side.sortedRange(from, to))).toEqual(expected)
        expect(Array.from(side.sorted())).toEqual(Array.from(LineHashes.ofBytes(bytes)))
        expect(Array.from(side.sortedRange(from, to))).toEqual(expected)
        expect(side.table()).toBe(side.table())
      }),
      { numRuns: 200 }
    )
  })

  it("a rewrite (nothing common at either end) counts churn from the shared pair like from its own (property)", () => {
    const big = fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 20, maxLength: 700 }).map((ns) => ns.map((n) => `k${n}`).join("\n") + "\n")
    fc.assert(
      fc.property(big, big, (a, b) => {
        const before = enc(`first\n${a}last\n`)
        const after = enc(`other\n${b}end\n`)
        const shared = LineHashes.pair(before, after)
        shared.before()
        shared.after()
        expect(changedLines(before, after, shared)).toBe(changedLines(before, after))
        expect(shared.ends()).toEqual({ prefix: 0, suffix: 0 })
      }),
      { numRuns: 60 }
    )
  })

  it("churn below the LCS bound equals the LCS count, also when no line survives (property)", () => {
    const side = (alphabet: ReadonlyArray<string>) =>
      fc.array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 60 }).map((ls) => ls.join("\n") + "\n")
    fc.assert(
      fc.property(side(["a", "b", "c"]), fc.oneof(side(["x", "y", "zz"]), side(["a", "x", "c"])), (before, after) => {
        const reference = diffArrays(linesOf(before), linesOf(after)).reduce((n, p) => (p.removed ? n + p.count : n), 0)
        expect(changedLines(enc(before), enc(after))).toBe(reference)
      }),
      { numRuns: 300 }
    )
    expect(changedLines(enc("a\nb\nc\n"), enc("x\ny\n"))).toBe(3)
  })

  it("a diff of texts without a common line is Myers' own patch, built without the search (property)", () => {
    const side = (alphabet: ReadonlyArray<string>) =>
      fc.tuple(fc.array(fc.constantFrom(...alphabet), { maxLength: 40 }), fc.boolean()).map(([ls, terminated]) =>
        ls.length === 0 ? "" : ls.join("\n") + (terminated ? "\n" : ""))
    const options = fc.record({ contextLines: fc.integer({ min: 0, max: 4 }), maxLines: fc.integer({ min: 1, max: 120 }) })
    fc.assert(
      fc.property(side(["a", "b\r", "", "é"]), side(["x", "y y", "z\r"]), options, (before, after, o) => {
        fc.pre(before !== after)
        expect(UnifiedDiff.make(enc(before), enc(after), o)).toEqual(UnifiedDiff.makeText(before, after, o))
      }),
      { numRuns: 500 }
    )
  })
})
