/**
 * `Chain.parseTail` reads only the end of a log (what an append needs): it must find the same last record,
 * torn tail and missing final newline as `parseLog` of the whole text, and report the unparsable lines after
 * that record, whatever mix of records, blank lines, garbage and torn writes the text holds.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as fc from "fast-check"
import { sealAll } from "./sealedLog.js"

const records = sealAll(Array.from({ length: 6 }, (_, i) => ({ opId: `op-${i}`, phase: "event" as const, tool: "_audit", note: `n${i}` })))
const lines = records.map((r) => Canonical.toLine(r).replace(/\n$/, ""))

const piece = fc.oneof(
  fc.constantFrom(...lines),
  fc.constant(""),
  fc.constant("   "),
  fc.string({ maxLength: 12 }).map((s) => s.replace(/\n/g, " ")),
  fc.constantFrom(...lines).map((l) => l.slice(0, Math.max(1, l.length >> 1)))
)

describe("Chain.parseTail", () => {
  it("finds what parseLog finds at the end of any text (property)", () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), fc.boolean(), (parts, terminated) => {
        const text = parts.length === 0 ? "" : parts.join("\n") + (terminated ? "\n" : "")
        const whole = Chain.parseLog(text)
        const tail = Chain.parseTail(text)
        const last = whole.records.at(-1)
        expect(tail.records.at(-1)?.line).toBe(last?.line)
        expect(tail.records.at(-1)?.record).toEqual(last?.record)
        expect(tail.records.length).toBe(last === undefined ? 0 : 1)
        expect(tail.tornTail).toBe(whole.tornTail)
        expect(tail.unterminated).toBe(whole.unterminated)
        expect(tail.unparsable).toEqual(whole.unparsable.filter((n) => n > (last?.line ?? 0)))
      }),
      { numRuns: 2000 }
    )
  })

  it("reports the last record of a long log, the garbage after it, and a torn write", () => {
    const text = lines.join("\n") + "\n" + "not json\n"
    const tail = Chain.parseTail(text)
    expect(tail.records.map((r) => r.record.seq)).toEqual([6])
    expect(tail.unparsable).toEqual([7])
    expect(tail.tornTail).toBe(false)
    expect(Chain.parseTail(`${lines[0]}\n{"torn`)).toMatchObject({ tornTail: true, unterminated: true, unparsable: [2] })
  })
})
