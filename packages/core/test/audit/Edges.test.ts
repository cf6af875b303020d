// The audit log at its edges: which link of the chain breaks and why, the head file's two halves,
// a torn tail only at the end, the query joins that refusals and missing outcomes take, pagination and
// truncation at their limits, and the query's input and output schemas.
import { describe, expect, it } from "@effect/vitest"
import * as AuditRecord from "@homelab-mcp/core/audit/AuditRecord"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as Query from "@homelab-mcp/core/audit/Query"
import * as Schema from "effect/Schema"
import { sealAll, textOf, type Entry } from "./sealedLog.js"

const ev = (i: number): Entry => ({ opId: `e${i}`, phase: "event", tool: "_audit", note: `event ${i}` })
const q = (input: Query.QueryRequest) => Schema.decodeUnknownSync(Query.QueryInput)(input)

describe("Chain: which link breaks and why", () => {
  it("the genesis hash is 64 zeros (the log format)", () => {
    expect(AuditRecord.GENESIS_HASH).toBe("0000000000000000000000000000000000000000000000000000000000000000")
  })

  it("a gap in seq is reported as such even when the hashes link", () => {
    const records = sealAll([ev(0), { ...ev(1), seq: 3 }])
    const report = Chain.verifyChain(Chain.parseLog(textOf(records)), { seq: 3, hash: records[1]!.hash })
    expect(report).toEqual({
      ok: false,
      checked: 2,
      firstBreak: { seq: 3, line: 2, reason: "seq 3 follows seq 1 (record deleted, inserted or reordered)" },
      headMatches: true
    })
  })

  it("a record whose seq follows but whose prevHash names another record breaks the link", () => {
    const records = sealAll([ev(0), { ...ev(1), prevHash: "a".repeat(64) }])
    const report = Chain.verifyChain(Chain.parseLog(textOf(records)), { seq: 2, hash: records[1]!.hash })
    expect(report.firstBreak).toEqual({ seq: 2, line: 2, reason: "prevHash does not match the hash of seq 1" })
  })

  it("only the first break is reported", () => {
    const records = sealAll([ev(0), { ...ev(1), prevHash: "a".repeat(64) }, { ...ev(2), prevHash: "b".repeat(64) }])
    const report = Chain.verifyChain(Chain.parseLog(textOf(records)), null)
    expect(report.firstBreak).toMatchObject({ seq: 2, line: 2 })
  })

  it("the head matches only when both its seq and its hash name the last record", () => {
    const records = sealAll([ev(0), ev(1)])
    const log = Chain.parseLog(textOf(records))
    const last = records[1]!
    expect(Chain.verifyChain(log, { seq: 2, hash: last.hash })).toMatchObject({ ok: true, headMatches: true })
    expect(Chain.verifyChain(log, { seq: 2, hash: records[0]!.hash })).toMatchObject({ ok: false, headMatches: false })
    expect(Chain.verifyChain(log, { seq: 1, hash: last.hash })).toMatchObject({ ok: false, headMatches: false })
    expect(Chain.verifyChain(Chain.parseLog(""), { seq: 1, hash: last.hash })).toMatchObject({ ok: false, headMatches: false })
  })

  it("the head file decodes as seq and hash", () => {
    expect(Schema.decodeUnknownSync(Chain.Head)({ seq: 2, hash: "ab" })).toEqual({ seq: 2, hash: "ab" })
    expect(() => Schema.decodeUnknownSync(Chain.Head)({ seq: "2", hash: "ab" })).toThrow()
    expect(() => Schema.decodeUnknownSync(Chain.Head)({ seq: 2 })).toThrow()
  })
})

describe("Chain.checkTail: each half of the head must agree", () => {
  const records = sealAll([ev(0), ev(1), ev(2)])
  const log = Chain.parseLog(textOf(records))
  const [first, second, third] = records as [AuditRecord.AuditRecord, AuditRecord.AuditRecord, AuditRecord.AuditRecord]

  it("the right seq with another hash is a discontinuity, with both hashes shortened to 12 characters", () => {
    expect(Chain.checkTail(log, { seq: 3, hash: first.hash })).toEqual({
      _tag: "Discontinuity",
      detail: `the head file names seq 3 (${first.hash.slice(0, 12)}…) but the log ends at seq 3 (${third.hash.slice(0, 12)}…)`
    })
  })

  it("the right hash with another seq is a discontinuity", () => {
    expect(Chain.checkTail(log, { seq: 7, hash: third.hash })._tag).toBe("Discontinuity")
  })

  it("one behind is benign only when the head's hash is the last record's prevHash", () => {
    expect(Chain.checkTail(log, { seq: 2, hash: second.hash })._tag).toBe("HeadBehind")
    expect(Chain.checkTail(log, { seq: 2, hash: first.hash })._tag).toBe("Discontinuity")
    expect(Chain.checkTail(log, { seq: 1, hash: second.hash })._tag).toBe("Discontinuity")
  })

  it("a missing head or a missing log is named in the detail", () => {
    expect(Chain.checkTail(log, null)).toEqual({ _tag: "Discontinuity", detail: "the head file is missing while the log ends at seq 3" })
    expect(Chain.checkTail(Chain.parseLog(""), { seq: 4, hash: "x" })).toEqual({
      _tag: "Discontinuity",
      detail: "the head file names seq 4 but the log holds no record"
    })
  })
})

describe("Chain.parseLog", () => {
  it("an unparsable line in the middle of an unterminated log is not a torn tail", () => {
    const [a, b] = sealAll([ev(0), ev(1)]).map(Canonical.toLine)
    const parsed = Chain.parseLog(`${a}garbage\n${b!.slice(0, -1)}`)
    expect(parsed).toMatchObject({ unparsable: [2], tornTail: false, unterminated: true })
    expect(parsed.records.map((r) => r.line)).toEqual([1, 3])
  })

  it("only a text that does not end with a newline is unterminated; an empty log is not", () => {
    const [a] = sealAll([ev(0)]).map(Canonical.toLine)
    expect(Chain.parseLog(a!)).toMatchObject({ unterminated: false, tornTail: false })
    expect(Chain.parseLog("")).toEqual({ records: [], unparsable: [], tornTail: false, unterminated: false })
  })

  it("blank lines are skipped, neither records nor unparsable", () => {
    const [a, b] = sealAll([ev(0), ev(1)]).map(Canonical.toLine)
    const parsed = Chain.parseLog(`${a}\n   \n${b}`)
    expect(parsed.unparsable).toEqual([])
    expect(parsed.records.map((r) => r.line)).toEqual([1, 4])
  })
})

describe("AuditRecord", () => {
  it("truncate keeps a text of exactly max characters and cuts one more", () => {
    expect(AuditRecord.truncate("abcde", 5)).toBe("abcde")
    expect(AuditRecord.truncate("abcdef", 5)).toBe("abcde…(+1 chars)")
  })

  it("redactEntry leaves an entry without free text as it is and never calls the redactor", () => {
    const calls: Array<string> = []
    const redact: AuditRecord.TextRedactor = (text) => {
      calls.push(text)
      return { text, count: 0 }
    }
    const entry: AuditRecord.AuditEntry = { opId: "o", phase: "intent", tool: "guest_start", vmid: 101 }
    expect(AuditRecord.redactEntry(entry, redact)).toEqual(entry)
    expect(calls).toEqual([])
  })
})

describe("Query: joins", () => {
  it("a refusal of an op that has an intent is its own item, and the outcome still completes the intent", () => {
    const log = Chain.parseLog(textOf(sealAll([
      { opId: "x", phase: "intent", tool: "guest_stop", vmid: 101 },
      { opId: "x", phase: "refused", tool: "guest_stop", refusal: { code: "ConfirmDeclined", reason: "user said no" } },
      { opId: "x", phase: "outcome", tool: "guest_stop", outcome: "noop" }
    ])))
    const items = Query.run(q({}), log).items as ReadonlyArray<Query.OperationItem>
    expect(items.map((i) => [i.seq, i.outcome, i.outcomeSeq])).toEqual([[2, "refused", undefined], [1, "noop", 3]])
  })

  it("a pending intent has no end time or outcome seq", () => {
    const log = Chain.parseLog(textOf(sealAll([{ opId: "p", phase: "intent", tool: "guest_start", vmid: 101 }])))
    const [item] = Query.run(q({}), log).items as ReadonlyArray<Query.OperationItem>
    expect(item).toMatchObject({ opId: "p", outcome: "pending" })
    expect(item!.endTs).toBeUndefined()
    expect(item!.outcomeSeq).toBeUndefined()
  })

  it("an outcome record without an outcome counts as unknown, in both views", () => {
    const log = Chain.parseLog(textOf(sealAll([
      { opId: "i", phase: "intent", tool: "guest_start" },
      { opId: "i", phase: "outcome", tool: "guest_start" },
      { opId: "o", phase: "outcome", tool: "guest_stop" }
    ])))
    expect(Query.run(q({}), log).items.map((i) => [i.opId, (i as Query.OperationItem).outcome])).toEqual([["o", "unknown"], ["i", "unknown"]])
    expect(Query.run(q({ view: "records" }), log).summary.byOutcome).toEqual({ unknown: 2, intent: 1 })
  })
})

describe("Query: summary, pages and the cmd cut at their edges", () => {
  const log = Chain.parseLog(textOf(sealAll([
    { opId: "a", phase: "outcome", tool: "pct_exec", vmid: 101, outcome: "ok", cmd: "x".repeat(20), signal: "" },
    { opId: "b", phase: "outcome", tool: "guest_start", outcome: "ok" },
    { opId: "c", phase: "outcome", tool: "pct_exec", vmid: 101, outcome: "failed", cmd: "y".repeat(21), signal: "TERM" }
  ])))

  it("counts only vmids that are present and only non-empty signals", () => {
    const summary = Query.run(q({}), log).summary
    expect(summary.byVmid).toEqual({ "101": 2 })
    expect(summary.signalKills).toBe(1)
  })

  it("cmdMaxChars cuts only a cmd longer than it and leaves items without cmd alone", () => {
    const items = Query.run(q({ cmdMaxChars: 20 }), log).items
    expect(items.map((i) => i.cmd)).toEqual([`${"y".repeat(20)}…(+1 chars)`, undefined, "x".repeat(20)])
  })

  it("a page that ends exactly at the last item has no next offset", () => {
    expect(Query.run(q({ limit: 3 }), log).nextOffset).toBeNull()
    expect(Query.run(q({ limit: 2 }), log).nextOffset).toBe(2)
    expect(Query.run(q({ limit: 1, offset: 2 }), log).nextOffset).toBeNull()
  })

  it("a verified chain is attached to the result", () => {
    const chain: Chain.ChainReport = { ok: true, checked: 3, headMatches: true }
    expect(Query.run(q({}), log, chain).chain).toEqual(chain)
  })

  it("the result survives JSON and decodes back to itself with the declared schema", () => {
    const chain: Chain.ChainReport = { ok: false, checked: 3, firstBreak: { seq: 2, line: 2, reason: "r" }, headMatches: true }
    for (const view of ["operations", "records"] as const) {
      const r = Query.run(q({ view }), log, chain)
      const wire = JSON.parse(JSON.stringify(Schema.encodeSync(Query.QueryResult)(r)))
      expect(Schema.decodeUnknownSync(Query.QueryResult)(wire)).toEqual(r)
    }
    expect(Schema.is(Query.OperationItem)({ opId: "a" })).toBe(false)
    expect(Schema.is(Query.Summary)({ total: 0 })).toBe(false)
    expect(Schema.is(Query.Chain)({ ok: true })).toBe(false)
    expect(Schema.is(Query.Chain)({ ok: false, checked: 1, headMatches: true, firstBreak: { seq: 1 } })).toBe(false)
    expect(Schema.is(Query.QueryResult)({ items: [] })).toBe(false)
  })
})

describe("Query.QueryInput: instants", () => {
  it("accepts minutes-only, fractional seconds up to nanoseconds and offsets", () => {
    for (const ok of ["2026-01-01T12:00Z", "2026-01-01T12:00:00.5Z", "2026-01-01T12:00:00.123456789+02:00", "2026-01-01T12:00:00-05:30"]) {
      expect(q({ since: ok }).since).toBe(ok)
    }
  })

  it("rejects text around an instant, an empty fraction and a date that does not exist", () => {
    for (const bad of ["x2026-01-01T12:00:00Z", "2026-01-01T12:00:00Zjunk", "2026-01-01T12:00:00.Z", "2026-01-01T12:00:00.1234567890Z"]) {
      expect(() => q({ since: bad })).toThrow()
    }
    expect(() => q({ until: "2026-13-45T12:00:00Z" })).toThrow(/not a valid date-time/)
  })

  it("every outcome an item can have is a valid filter", () => {
    for (const outcome of ["ok", "failed", "refused", "noop", "unknown", "pending"] as const) expect(q({ outcome }).outcome).toBe(outcome)
    expect(() => q({ outcome: "" as never })).toThrow()
  })
})
