// The limits of UnifiedDiff at their edges: side length, edit distance (both the linear pre-check and
// Myers' own abort), the maxLines cut, and identical texts given to makeText directly.
import { describe, expect, it } from "@effect/vitest"
import * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}\n`).join("")
const oneChanged = (text: string) => text.replace("line 5\n", "LINE 5\n")
const omitted = { diff: null, diffTruncated: false, diffOmitted: UnifiedDiff.TOO_LARGE, binary: false, addedLines: 0, removedLines: 0 }
const identical = { diff: null, diffTruncated: false, binary: false, addedLines: 0, removedLines: 0 }

describe("UnifiedDiff limits", () => {
  it("maxSideLines allows a side of exactly that many lines and omits one line more, on either side", () => {
    expect(UnifiedDiff.makeText(lines(10), oneChanged(lines(10)), { maxSideLines: 10 })).toMatchObject({ addedLines: 1, removedLines: 1 })
    expect(UnifiedDiff.makeText(lines(11), oneChanged(lines(11)), { maxSideLines: 10 })).toEqual(omitted)
    expect(UnifiedDiff.makeText(lines(10), `${lines(10)}extra\n`, { maxSideLines: 10 })).toEqual(omitted)
    expect(UnifiedDiff.makeText(`${lines(10)}extra\n`, lines(10), { maxSideLines: 10 })).toEqual(omitted)
  })

  it("an unterminated last line counts as a line", () => {
    const tenUnterminated = lines(10).slice(0, -1)
    expect(UnifiedDiff.makeText(tenUnterminated, oneChanged(tenUnterminated), { maxSideLines: 10 }).diff).not.toBeNull()
    expect(UnifiedDiff.makeText(`${lines(10)}x`, lines(10), { maxSideLines: 10 })).toEqual(omitted)
  })

  it("the byte entry point applies the same side limit", () => {
    expect(UnifiedDiff.make(t(lines(10)), t(oneChanged(lines(10))), { maxSideLines: 10 })).toMatchObject({ addedLines: 1, removedLines: 1 })
    expect(UnifiedDiff.make(t(lines(11)), t(oneChanged(lines(11))), { maxSideLines: 10 })).toEqual(omitted)
    // either side alone over the limit is enough
    expect(UnifiedDiff.make(t(lines(10)), t(`${lines(10)}extra\n`), { maxSideLines: 10 })).toEqual(omitted)
    expect(UnifiedDiff.make(t(`${lines(10)}extra\n`), t(lines(10)), { maxSideLines: 10 })).toEqual(omitted)
  })

  it("by default a one-line edit of a file over 20000 lines is omitted, at 20000 it is diffed", () => {
    expect(UnifiedDiff.makeText(lines(20001), oneChanged(lines(20001)))).toEqual(omitted)
    expect(UnifiedDiff.make(t(lines(20001)), t(oneChanged(lines(20001))))).toEqual(omitted)
    expect(UnifiedDiff.makeText(lines(20000), oneChanged(lines(20000)))).toMatchObject({ addedLines: 1, removedLines: 1 })
  })

  it("an edit distance equal to maxEditLength is diffed", () => {
    expect(UnifiedDiff.makeText("a\n", "b\n", { maxEditLength: 2 }).diff).toBe("--- before\n+++ after\n@@ -1,1 +1,1 @@\n-a\n+b\n")
    expect(UnifiedDiff.makeText("a\n", "b\n", { maxEditLength: 1 })).toEqual(omitted)
    // an empty side has no line: creating two lines is two edits, not three
    expect(UnifiedDiff.makeText("", "a\na", { maxEditLength: 2 })).toMatchObject({ addedLines: 2, removedLines: 0 })
    expect(UnifiedDiff.makeText("a\na\n", "", { maxEditLength: 2 })).toMatchObject({ addedLines: 0, removedLines: 2 })
    expect(UnifiedDiff.makeText("", "a\na", { maxEditLength: 1 })).toEqual(omitted)
  })

  it("a reordering passes the linear lower bound but is omitted when Myers needs more edits than allowed", () => {
    // the same lines in another order: the multiset bound is 0, the real edit distance 2
    expect(UnifiedDiff.lineEditLowerBound(["a", "b", ""], ["b", "a", ""])).toBe(0)
    expect(UnifiedDiff.makeText("a\nb\n", "b\na\n", { maxEditLength: 1 })).toEqual(omitted)
    expect(UnifiedDiff.makeText("a\nb\n", "b\na\n", { maxEditLength: 2 })).toMatchObject({ addedLines: 1, removedLines: 1 })
  })

  it("a diff of exactly maxLines lines is whole; one line fewer allowed cuts it", () => {
    // five lines: ---, +++, @@, -a, +b
    expect(UnifiedDiff.makeText("a\n", "b\n", { maxLines: 5 })).toMatchObject({ diff: "--- before\n+++ after\n@@ -1,1 +1,1 @@\n-a\n+b\n", diffTruncated: false })
    expect(UnifiedDiff.makeText("a\n", "b\n", { maxLines: 4 })).toMatchObject({
      diff: "--- before\n+++ after\n@@ -1,1 +1,1 @@\n-a\n… 1 more diff lines\n",
      diffTruncated: true,
      addedLines: 1,
      removedLines: 1
    })
  })

  it("makeText of two equal texts is the identical result, not an empty diff", () => {
    expect(UnifiedDiff.makeText("same\n", "same\n")).toEqual(identical)
    expect(UnifiedDiff.makeText("", "")).toEqual(identical)
  })
})
