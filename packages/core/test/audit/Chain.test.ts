import { describe, expect, it } from "@effect/vitest"
import * as AuditRecord from "@homelab-mcp/core/audit/AuditRecord"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as fc from "fast-check"
import { sealAll, textOf } from "./sealedLog.js"

const operate: AuditRecord.Identity = { tier: "operate", rootTier: false, serverVersion: "1.0.0", node: "pve", host: "10.0.0.2" }

/** A chained log of the entries: its records, text and head. */
const buildLog = (entries: ReadonlyArray<AuditRecord.AuditEntry>) => {
  const records = sealAll(entries, operate)
  const last = records.at(-1)
  const head: Chain.Head | null = last ? { seq: last.seq, hash: last.hash } : null
  return { records, text: textOf(records), head }
}

const entry = (i: number): AuditRecord.AuditEntry => ({
  opId: `op-${Math.floor(i / 2)}`,
  phase: i % 2 === 0 ? "intent" : "outcome",
  tool: "guest_start",
  vmid: 100 + i,
  ...(i % 2 === 1 ? { outcome: "ok" as const } : { cmd: `echo ${i}` })
})

describe("Canonical", () => {
  it("sorts keys at every level, omits undefined, keeps standard escaping", () => {
    expect(Canonical.canonicalJson({ b: 1, a: { d: [1, { z: 1, y: "é\n\"" }], c: undefined } })).toBe(
      '{"a":{"d":[1,{"y":"é\\n\\"","z":1}]},"b":1}'
    )
  })
  it("hashes the record without its hash field", () => {
    const { records } = buildLog([entry(0)])
    const r = records[0]!
    expect(r.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(Canonical.hashOf(r)).toBe(r.hash)
    const { hash: _h, ...rest } = r
    expect(Canonical.sha256Hex(Canonical.canonicalJson(rest))).toBe(r.hash)
  })
  it("writes one canonical line per record", () => {
    const { records, text } = buildLog([entry(0), entry(1)])
    expect(text.split("\n")).toHaveLength(3)
    expect(JSON.parse(text.split("\n")[1]!)).toEqual(records[1])
  })
})

describe("Chain.verifyChain", () => {
  it("accepts an intact log and an empty one", () => {
    const { text, head } = buildLog([0, 1, 2, 3].map(entry))
    expect(Chain.verifyChain(Chain.parseLog(text), head)).toEqual({ ok: true, checked: 4, headMatches: true })
    expect(Chain.verifyChain(Chain.parseLog(""), null)).toEqual({ ok: true, checked: 0, headMatches: true })
  })
  it("reports an edited record with its seq and line", () => {
    const { text, head } = buildLog([0, 1, 2].map(entry))
    const edited = text.replace('"vmid":101', '"vmid":999')
    const report = Chain.verifyChain(Chain.parseLog(edited), head)
    expect(report.ok).toBe(false)
    expect(report.firstBreak).toMatchObject({ seq: 2, line: 2, reason: expect.stringContaining("edited") })
  })
  it("reveals a truncated tail through the head file", () => {
    const { text, head } = buildLog([0, 1, 2].map(entry))
    const truncated = text.split("\n").slice(0, 2).join("\n") + "\n"
    const report = Chain.verifyChain(Chain.parseLog(truncated), head)
    expect(report).toMatchObject({ ok: false, checked: 2, headMatches: false })
    expect(report.firstBreak).toBeUndefined()
  })
  it("detects a removed beginning", () => {
    const { text, head } = buildLog([0, 1, 2].map(entry))
    const report = Chain.verifyChain(Chain.parseLog(text.split("\n").slice(1).join("\n")), head)
    expect(report.firstBreak).toMatchObject({ seq: 2, reason: expect.stringContaining("not 1") })
  })
  it("a missing head file with records does not match", () => {
    const { text } = buildLog([0].map(entry))
    expect(Chain.verifyChain(Chain.parseLog(text), null)).toMatchObject({ ok: false, headMatches: false })
  })

  it("property: any single-line edit, deletion or reordering breaks verification", () => {
    const arbMutation = fc.oneof(
      fc.record({ kind: fc.constant("edit" as const), line: fc.nat(), at: fc.nat(), ch: fc.string({ minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant("delete" as const), line: fc.nat() }),
      fc.record({ kind: fc.constant("swap" as const), line: fc.nat(), other: fc.nat() })
    )
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), arbMutation, (n, m) => {
        const { text, head } = buildLog(Array.from({ length: n }, (_, i) => entry(i)))
        const lines = text.split("\n").slice(0, -1)
        const i = m.line % lines.length
        let mutated: Array<string>
        if (m.kind === "edit") {
          const line = lines[i]!
          const at = m.at % line.length
          const replaced = line.slice(0, at) + m.ch + line.slice(at + 1)
          fc.pre(replaced !== line)
          mutated = lines.map((l, j) => (j === i ? replaced : l))
        } else if (m.kind === "delete") {
          mutated = lines.filter((_, j) => j !== i)
        } else {
          const k = m.other % lines.length
          fc.pre(k !== i)
          mutated = [...lines]
          ;[mutated[i], mutated[k]] = [mutated[k]!, mutated[i]!]
        }
        const report = Chain.verifyChain(Chain.parseLog(mutated.join("\n") + "\n"), head)
        expect(report.ok).toBe(false)
      }),
      { numRuns: 400 }
    )
  })
})

describe("Chain.parseLog", () => {
  it("counts unparsable lines and detects a torn last line", () => {
    const { text } = buildLog([0, 1].map(entry))
    const parsed = Chain.parseLog(`${text}not json\n${'{"v":1,"seq":3,"ts"'}`)
    expect(parsed.records).toHaveLength(2)
    expect(parsed.unparsable).toEqual([3, 4])
    expect(parsed.tornTail).toBe(true)
    expect(parsed.unterminated).toBe(true)
  })
  it("a complete but unterminated last record is a record, not torn", () => {
    const { text } = buildLog([0].map(entry))
    const parsed = Chain.parseLog(text.slice(0, -1))
    expect(parsed).toMatchObject({ tornTail: false, unterminated: true })
    expect(parsed.records).toHaveLength(1)
  })
  it("a torn line followed by further records keeps the chain verifiable", () => {
    const { records } = buildLog([0, 1, 2].map(entry))
    const [a, b, c] = records.map(Canonical.toLine)
    const text = `${a}${b}${b!.slice(0, 20)}\n${c}`
    // the torn fragment is skipped; the next record links to the last complete one
    const parsed = Chain.parseLog(text)
    expect(parsed.unparsable).toEqual([3])
    expect(Chain.verifyChain(parsed, { seq: 3, hash: records[2]!.hash })).toMatchObject({ ok: true, checked: 3 })
  })
})

describe("Chain.checkTail", () => {
  const { text, head, records } = buildLog([0, 1, 2].map(entry))
  const log = Chain.parseLog(text)
  it("consistent", () => expect(Chain.checkTail(log, head)._tag).toBe("Consistent"))
  it("head one behind with a matching link is the benign crash window", () => {
    expect(Chain.checkTail(log, { seq: 2, hash: records[1]!.hash })._tag).toBe("HeadBehind")
  })
  it("a head ahead of the log is a discontinuity", () => {
    const truncated = Chain.parseLog(records.slice(0, 2).map(Canonical.toLine).join(""))
    expect(Chain.checkTail(truncated, head)).toMatchObject({ _tag: "Discontinuity", detail: expect.stringContaining("seq 3") })
  })
  it("an edited last record is a discontinuity", () => {
    const edited = Chain.parseLog(text.replace('"vmid":102', '"vmid":1'))
    expect(Chain.checkTail(edited, head)).toMatchObject({ _tag: "Discontinuity", detail: expect.stringContaining("own hash") })
  })
  it("missing head with records, and a head without records", () => {
    expect(Chain.checkTail(log, null)._tag).toBe("Discontinuity")
    expect(Chain.checkTail(Chain.parseLog(""), head)._tag).toBe("Discontinuity")
    expect(Chain.checkTail(Chain.parseLog(""), null)._tag).toBe("Consistent")
  })
})

describe("AuditRecord.redactEntry", () => {
  const redact: AuditRecord.TextRedactor = (t) => ({ text: t.replaceAll("hunter2", "[REDACTED]"), count: t.includes("hunter2") ? 1 : 0 })
  it("redacts cmd, note, error.message and refusal.reason and caps cmd", () => {
    const out = AuditRecord.redactEntry(
      {
        opId: "o",
        phase: "refused",
        tool: "execute",
        cmd: `mysql -phunter2 ${"x".repeat(5000)}`,
        note: "pw hunter2",
        error: { code: "CommandFailed", message: "hunter2 rejected" },
        refusal: { code: "CommandDenied", reason: "hunter2" },
        path: "/etc/hunter2"
      },
      redact
    )
    expect(out.cmd!.startsWith("mysql -p[REDACTED] ")).toBe(true)
    expect(out.cmd).toMatch(/…\(\+\d+ chars\)$/)
    expect(out.cmd!.length).toBeLessThan(4200)
    expect(out.note).toBe("pw [REDACTED]")
    expect(out.error).toEqual({ code: "CommandFailed", message: "[REDACTED] rejected" })
    expect(out.refusal).toEqual({ code: "CommandDenied", reason: "[REDACTED]" })
    expect(out.path).toBe("/etc/hunter2")
  })
})
