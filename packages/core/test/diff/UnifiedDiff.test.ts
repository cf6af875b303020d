import { describe, expect, it } from "@effect/vitest"
import * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const lines = (n: number, f: (i: number) => string = (i) => `line ${i}`) => Array.from({ length: n }, (_, i) => `${f(i)}\n`).join("")

describe("UnifiedDiff", () => {
  it("renders labelled hunks with three lines of context by default", () => {
    const r = UnifiedDiff.make(t(lines(10)), t(lines(10).replace("line 5\n", "LINE 5\n")))
    expect(r).toEqual({
      diff: [
        "--- before",
        "+++ after",
        "@@ -3,7 +3,7 @@",
        " line 2",
        " line 3",
        " line 4",
        "-line 5",
        "+LINE 5",
        " line 6",
        " line 7",
        " line 8",
        ""
      ].join("\n"),
      diffTruncated: false,
      binary: false,
      addedLines: 1,
      removedLines: 1
    })
  })

  it("honours contextLines 0 with GNU hunk numbering", () => {
    const r = UnifiedDiff.makeText("a\nb\nc\n", "a\nb\nc\nd\n", { contextLines: 0, oldLabel: "current", newLabel: "restored" })
    expect(r.diff).toBe("--- current\n+++ restored\n@@ -3,0 +4,1 @@\n+d\n")
    const del = UnifiedDiff.makeText("a\nb\nc\n", "a\nc\n", { contextLines: 0 })
    expect(del.diff).toBe("--- before\n+++ after\n@@ -2,1 +1,0 @@\n-b\n")
  })

  it("marks a missing final newline", () => {
    const r = UnifiedDiff.makeText("a\nb\n", "a\nb", { contextLines: 1 })
    expect(r.diff).toContain("\\ No newline at end of file")
    expect(r).toMatchObject({ addedLines: 1, removedLines: 1 })
  })

  it("diffs a new file against empty and a deletion against empty", () => {
    expect(UnifiedDiff.make(null, t("x\ny\n")).diff).toBe("--- before\n+++ after\n@@ -0,0 +1,2 @@\n+x\n+y\n")
    expect(UnifiedDiff.make(t("x\n"), null)).toMatchObject({ addedLines: 0, removedLines: 1 })
  })

  it("never hides a change between two invalid UTF-8 sequences", () => {
    const r = UnifiedDiff.make(new Uint8Array([99, 97, 102, 0xe9, 10]), new Uint8Array([99, 97, 102, 0xe8, 10]), { contextLines: 0 })
    expect(r).toMatchObject({ addedLines: 1, removedLines: 1, binary: false })
    expect(r.diff).toBe("--- before\n+++ after\n@@ -1,1 +1,1 @@\n-caf\u00e9\n+caf\u00e8\n")
    expect(UnifiedDiff.make(t("caf\u00e9\n"), t("cafe\n")).diff).toContain("-caf\u00e9")
  })

  it("never hides a change between invalid UTF-8 lines on Myers' path either (both sides read as latin1)", () => {
    // `x` also occurs among the new lines, so this is not a single block: Myers aligns it
    const before = new Uint8Array([99, 97, 102, 0xe9, 10, 120, 10])
    const after = new Uint8Array([120, 10, 99, 97, 102, 0xe8, 10, 120, 10])
    const r = UnifiedDiff.make(before, after, { contextLines: 0 })
    expect(r).toMatchObject({ addedLines: 2, removedLines: 1 })
    expect(r.diff).toBe("--- before\n+++ after\n@@ -1,1 +0,0 @@\n-caf\u00e9\n@@ -2,0 +2,2 @@\n+caf\u00e8\n+x\n")
  })

  it("never hides a byte order mark added or removed, whichever way the patch is built", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf])
    const withBom = (s: string) => new Uint8Array([...bom, ...t(s)])
    // Myers' path (the line `a` also occurs further down) and the single-block path
    const myers = UnifiedDiff.make(withBom("a\nb\nc\na\n"), t("a\nb\nc\na\n"), { contextLines: 0 })
    expect(myers).toMatchObject({ addedLines: 1, removedLines: 1 })
    expect(myers.diff).toBe("--- before\n+++ after\n@@ -1,1 +1,1 @@\n-\uFEFFa\n+a\n")
    expect(UnifiedDiff.make(t("k\n"), withBom("k\n")).diff).toContain("+\uFEFFk")
  })

  it("identical content has no diff", () => {
    expect(UnifiedDiff.make(t("same\n"), t("same\n"))).toEqual({ diff: null, diffTruncated: false, binary: false, addedLines: 0, removedLines: 0 })
  })

  it("detects binary content on either side", () => {
    expect(UnifiedDiff.make(t("a\n"), new Uint8Array([97, 0, 98]))).toEqual({ diff: null, diffTruncated: false, binary: true, addedLines: 0, removedLines: 0 })
    expect(UnifiedDiff.make(new Uint8Array([0]), null).binary).toBe(true)
  })

  it("cuts at maxLines with a count of the rest and keeps exact totals", () => {
    const before = lines(100)
    const after = lines(100, (i) => (i % 10 === 0 ? `changed ${i}` : `line ${i}`))
    const full = UnifiedDiff.makeText(before, after)
    const cut = UnifiedDiff.makeText(before, after, { maxLines: 12 })
    const fullLines = full.diff!.trimEnd().split("\n")
    const cutLines = cut.diff!.trimEnd().split("\n")
    expect(cut.diffTruncated).toBe(true)
    expect(cutLines).toHaveLength(13)
    expect(cutLines.slice(0, 12)).toEqual(fullLines.slice(0, 12))
    expect(cutLines[12]).toBe(`… ${fullLines.length - 12} more diff lines`)
    expect([cut.addedLines, cut.removedLines]).toEqual([10, 10])
  })

  it("hunks keep a late change in a long file visible", () => {
    const before = lines(5000)
    const r = UnifiedDiff.makeText(before, before.replace("line 4990\n", "late change\n"))
    expect(r.diff).toContain("+late change")
    expect(r.diff!.split("\n").length).toBeLessThan(15)
  })

  it("omits a diff above 20000 lines on a side or an edit distance above 5000", () => {
    const omitted = { diff: null, diffTruncated: false, diffOmitted: "too large to diff", binary: false, addedLines: 0, removedLines: 0 }
    expect(UnifiedDiff.makeText(lines(20001), "x\n")).toEqual(omitted)
    expect(UnifiedDiff.makeText(lines(6000), lines(6000, (i) => `other ${i}`))).toEqual(omitted)
    expect(UnifiedDiff.makeText(lines(30), lines(30, (i) => `o ${i}`), { maxEditLength: 10 })).toEqual(omitted)
  })
})
