/**
 * `UnifiedDiff.make` builds the patch of a single-block change (common first and last lines kept, the
 * middles sharing no line with the other side) without Myers: it must be byte for byte the patch Myers
 * (`makeText`, jsdiff) gives, including context, hunk numbering, missing final newlines, latin1 input,
 * the `maxLines` cut and the edit limit, and every other change must still go through Myers.
 */
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"

const enc = (s: string) => new TextEncoder().encode(s)

/** A text from lines of an alphabet, terminated or not. */
const side = (alphabet: ReadonlyArray<string>, maxLength = 30) =>
  fc.tuple(fc.array(fc.constantFrom(...alphabet), { maxLength }), fc.boolean()).map(([ls, terminated]) =>
    ls.length === 0 ? "" : ls.join("\n") + (terminated ? "\n" : ""))

const lines = (alphabet: ReadonlyArray<string>, maxLength = 6) => fc.array(fc.constantFrom(...alphabet), { maxLength }).map((ls) => ls.map((l) => `${l}\n`).join(""))

const options = fc.record({
  contextLines: fc.integer({ min: 0, max: 4 }),
  maxLines: fc.integer({ min: 1, max: 80 }),
  maxEditLength: fc.integer({ min: 1, max: 60 })
})

describe("UnifiedDiff.make: single-block changes without Myers", () => {
  it("equals Myers' patch when both ends are kept and the middles are rewritten (property)", () => {
    const common = ["a", "b", "", "é", "c\r"]
    fc.assert(
      fc.property(lines(common), side(["x", "y y", "z\r", "ü"]), side(["p", "q", "r\r", "a b"]), side(common, 6), options, (head, x, y, tail, o) => {
        const before = head + x + (x === "" || x.endsWith("\n") ? "" : "\n") + tail
        const after = head + y + (y === "" || y.endsWith("\n") ? "" : "\n") + tail
        fc.pre(before !== after)
        expect(UnifiedDiff.make(enc(before), enc(after), o)).toEqual(UnifiedDiff.makeText(before, after, o))
      }),
      { numRuns: 1500 }
    )
  })

  it("equals Myers' patch for any pair over overlapping alphabets, whichever path it takes (property)", () => {
    fc.assert(
      fc.property(side(["a", "b", "c", "", "d\r"]), side(["a", "x", "c", "y", ""]), options, (before, after, o) => {
        fc.pre(before !== after)
        expect(UnifiedDiff.make(enc(before), enc(after), o)).toEqual(UnifiedDiff.makeText(before, after, o))
      }),
      { numRuns: 1500 }
    )
  })

  it("decodes latin1 lines the way the Myers path does when a side is not UTF-8", () => {
    const before = new Uint8Array([...enc("keep\nold "), 0xe9, ...enc("\nend\n")])
    const after = enc("keep\nnew\nend\n")
    expect(UnifiedDiff.make(before, after).diff).toBe("--- before\n+++ after\n@@ -1,3 +1,3 @@\n keep\n-old \u00e9\n+new\n end\n")
  })

  it("a block whose lines reappear elsewhere goes through Myers, which aligns them", () => {
    // `b` removed from the middle also occurs in the tail: the block shortcut must not claim it
    const before = "h\nb\nx\nt\nb\n"
    const after = "h\ny\nt\nb\n"
    expect(UnifiedDiff.make(enc(before), enc(after))).toEqual(UnifiedDiff.makeText(before, after))
    expect(UnifiedDiff.make(enc(before), enc(after)).removedLines).toBe(2)
  })

  it("a 10000-line rewrite between kept ends is one hunk, cut at maxLines, with exact totals", () => {
    const body = (tag: string) => Array.from({ length: 5000 }, (_, i) => `${tag} ${i}\n`).join("")
    const before = `# header\n${body("old")}# footer\n`
    const after = `# header\n${body("new")}# footer\n`
    const r = UnifiedDiff.make(enc(before), enc(after), { maxLines: 10, maxEditLength: 20000 })
    expect(r).toMatchObject({ addedLines: 5000, removedLines: 5000, diffTruncated: true })
    expect(r.diff).toBe(
      "--- before\n+++ after\n@@ -1,5002 +1,5002 @@\n # header\n-old 0\n-old 1\n-old 2\n-old 3\n-old 4\n-old 5\n… 9995 more diff lines\n"
    )
    expect(UnifiedDiff.make(enc(before), enc(after), { maxEditLength: 9999 })).toMatchObject({ diff: null, diffOmitted: UnifiedDiff.TOO_LARGE })
  })
})
