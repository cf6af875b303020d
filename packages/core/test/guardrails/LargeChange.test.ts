import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { diffArrays } from "diff"
import { changedLines, DEFAULT_LARGE_FILE_BYTES, largeChange, splitLines } from "@homelab-mcp/core/guardrails/LargeChange"

const enc = (s: string) => new TextEncoder().encode(s)
const lines = (n: number, prefix = "line") => Array.from({ length: n }, (_, i) => `${prefix} ${i}`).join("\n") + "\n"

describe("largeChange (§4)", () => {
  it("flags a new file, and size on top when it is big", () => {
    expect(largeChange({ before: null, after: enc("x") })).toEqual({ isLargeChange: true, reasons: ["new-file"] })
    expect(largeChange({ before: null, after: new Uint8Array(11), largeFileBytes: 10 })).toEqual({ isLargeChange: true, reasons: ["new-file", "size"] })
    expect(largeChange({ before: null, after: new Uint8Array(0) }).reasons).toEqual(["new-file"])
  })

  it("flags size when either side exceeds the limit (default 1 MiB)", () => {
    expect(DEFAULT_LARGE_FILE_BYTES).toBe(1048576)
    const big = new Uint8Array(DEFAULT_LARGE_FILE_BYTES + 1).fill(97)
    expect(largeChange({ before: big, after: big }).reasons).toEqual(["size"])
    expect(largeChange({ before: enc("a"), after: new Uint8Array(11), largeFileBytes: 10 }).reasons).toContain("size")
    expect(largeChange({ before: new Uint8Array(11), after: new Uint8Array(11), largeFileBytes: 10 }).reasons).toContain("size")
    expect(largeChange({ before: new Uint8Array(10), after: new Uint8Array(10), largeFileBytes: 10 }).reasons).not.toContain("size")
  })

  it("flags shrink below half of a previous size of at least 1024 bytes", () => {
    const before = new Uint8Array(1024).fill(97)
    expect(largeChange({ before, after: new Uint8Array(511).fill(97) }).reasons).toEqual(["shrink"])
    expect(largeChange({ before, after: new Uint8Array(512).fill(97) }).reasons).toEqual([])
    expect(largeChange({ before: new Uint8Array(1023).fill(97), after: new Uint8Array(10).fill(97) }).reasons).toEqual([])
  })

  it("flags churn when at least half of 20+ previous lines changed", () => {
    const before = lines(20)
    const tenChanged = before.split("\n").map((l, i) => (i < 10 ? `${l} edited` : l)).join("\n")
    const nineChanged = before.split("\n").map((l, i) => (i < 9 ? `${l} edited` : l)).join("\n")
    expect(largeChange({ before: enc(before), after: enc(tenChanged) }).reasons).toEqual(["churn"])
    expect(largeChange({ before: enc(before), after: enc(nineChanged) }).reasons).toEqual([])
    const nineteen = lines(19)
    expect(largeChange({ before: enc(nineteen), after: enc(lines(19, "other")) }).reasons).toEqual([])
    // appending does not change previous lines
    expect(largeChange({ before: enc(before), after: enc(before + lines(100, "new")) }).reasons).toEqual([])
    // deleting half of the lines is churn
    const half = before.split("\n").slice(10).join("\n")
    expect(largeChange({ before: enc(before), after: enc(half) }).reasons).toContain("churn")
  })

  it("flags emptied (with shrink and churn where they apply)", () => {
    expect(largeChange({ before: enc("a\n"), after: new Uint8Array(0) }).reasons).toEqual(["emptied"])
    expect(largeChange({ before: enc(lines(200)), after: new Uint8Array(0) }).reasons).toEqual(["shrink", "churn", "emptied"])
    expect(largeChange({ before: new Uint8Array(0), after: new Uint8Array(0) })).toEqual({ isLargeChange: false, reasons: [] })
  })

  it("is byte-exact: CRLF and binary content count as changes", () => {
    const unix = lines(30)
    expect(largeChange({ before: enc(unix), after: enc(unix.replaceAll("\n", "\r\n")) }).reasons).toContain("churn")
    const bin = new Uint8Array(40).map((_, i) => (i % 2 === 0 ? 10 : 0x80 + i))
    expect(largeChange({ before: bin, after: bin }).isLargeChange).toBe(false)
  })

  it("counts changed lines with an LCS for small diffs and a bounded count for big ones", () => {
    expect(splitLines(enc(""))).toEqual([])
    expect(splitLines(enc("a\nb"))).toEqual(["a", "b"])
    expect(splitLines(enc("a\nb\n"))).toEqual(["a", "b"])
    expect(changedLines(enc("a\nb\nc"), enc("a\nx\nc"))).toBe(1)
    expect(changedLines(enc("a\nb"), enc("a\nb\nc"))).toBe(0)
    expect(changedLines(enc("a\nb\n"), enc("a\nb"))).toBe(0)
    expect(changedLines(enc("a\r\nb\n"), enc("a\nb\n"))).toBe(1)
    const big = Array.from({ length: 3000 }, (_, i) => `l${i}`)
    const moved = [...big.slice(1500), ...big.slice(0, 1500)]
    const text = (ls: ReadonlyArray<string>) => enc(ls.join("\n") + "\n")
    expect(changedLines(text(big), text(moved))).toBe(0) // order-insensitive above the diff bound
    expect(changedLines(text(big), text(big.map((l) => `${l}!`)))).toBe(3000)
    expect(changedLines(text(big), text([...big.slice(0, 2000), ...big.slice(2000).map((l) => `${l}?`)]))).toBe(1000)
    const start = Date.now()
    largeChange({ before: enc(lines(5000, "a")), after: enc(lines(5000, "b")) })
    expect(Date.now() - start).toBeLessThan(2000)
  })

  it("changedLines equals the removed lines of an LCS of the whole line lists when the change is small (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("a", "b", "c", "", "a\r", "é"), { maxLength: 60 }),
        fc.array(fc.constantFrom("a", "b", "c", "", "a\r", "é"), { maxLength: 60 }),
        (before, after) => {
          const b = enc(before.map((l) => `${l}\n`).join(""))
          const a = enc(after.map((l) => `${l}\n`).join(""))
          const reference = diffArrays(splitLines(b), splitLines(a)).reduce((n, p) => (p.removed ? n + p.value.length : n), 0)
          expect(changedLines(b, a)).toBe(reference)
        }
      )
    )
  })

  it("above the LCS bound, changedLines counts the previous lines the new side lacks, as multisets (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 501, maxLength: 900 }),
        fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 501, maxLength: 900 }),
        (before, after) => {
          const pool = new Map<number, number>()
          for (const x of after) pool.set(x, (pool.get(x) ?? 0) + 1)
          let lacking = 0
          for (const x of before) {
            const n = pool.get(x) ?? 0
            if (n > 0) pool.set(x, n - 1)
            else lacking++
          }
          // a distinct first and last line keep the common prefix/suffix out of the way
          const text = (xs: ReadonlyArray<number>, edge: string) => enc(`${edge}\n${xs.map((x) => `line ${x}\n`).join("")}${edge}\n`)
          expect(changedLines(text(before, "B"), text(after, "A"))).toBe(lacking + 2)
        }
      ),
      { numRuns: 40 }
    )
  })

  it("isLargeChange is exactly 'some reason applies' and identical content is never large (property)", () => {
    fc.assert(
      fc.property(fc.option(fc.uint8Array({ maxLength: 3000 }), { nil: null }), fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 4096 }), (before, after, limit) => {
        const r = largeChange({ before, after, largeFileBytes: limit })
        expect(r.isLargeChange).toBe(r.reasons.length > 0)
        expect(new Set(r.reasons).size).toBe(r.reasons.length)
        if (before !== null) {
          const same = largeChange({ before, after: before, largeFileBytes: limit })
          expect(same.reasons.filter((x) => x !== "size")).toEqual([])
        }
      })
    )
  })
})
