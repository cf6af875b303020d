import { describe, expect, it } from "@effect/vitest"
import * as AuditRecord from "@homelab-mcp/core/audit/AuditRecord"
import * as Canonical from "@homelab-mcp/core/audit/Canonical"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as Query from "@homelab-mcp/core/audit/Query"
import * as Schema from "effect/Schema"
import { identity, sealAll, textOf, type Entry } from "./sealedLog.js"

/** The log of these entries as the query reads it. */
const logOf = (entries: ReadonlyArray<Entry>) => Chain.parseLog(textOf(sealAll(entries)))

const q = (input: Query.QueryRequest) => Schema.decodeUnknownSync(Query.QueryInput)(input)

const log = logOf([
  { opId: "e0", phase: "event", tool: "_audit", note: "server start" },
  { opId: "a", phase: "intent", tool: "pct_exec", vmid: 101, cmd: "systemctl restart nginx", confirmGated: true },
  { opId: "a", phase: "outcome", tool: "pct_exec", vmid: 101, outcome: "ok", exitCode: 0, durationMs: 40 },
  { opId: "b", phase: "refused", tool: "execute", cmd: "rm -rf /", refusal: { code: "CommandDenied", reason: "deletes the root" } },
  { opId: "c", phase: "intent", tool: "write_file", path: "/etc/nginx/nginx.conf", isLargeChange: true },
  { opId: "d", phase: "intent", tool: "pct_exec", vmid: 102, cmd: "sleep 999" },
  { opId: "d", phase: "outcome", tool: "pct_exec", vmid: 102, outcome: "unknown", timedOut: true, exitCode: null, signal: "KILL" },
  { opId: "e", phase: "refused", tool: "snapshot_rollback", vmid: 101, refusal: { code: "CircuitBreakerOpen", reason: "3 rollbacks" } },
  { opId: "f", phase: "outcome", tool: "guest_start", vmid: 103, outcome: "noop", note: "already running" }
])

describe("Query.QueryInput", () => {
  it("applies defaults and rejects out-of-range values", () => {
    expect(q({})).toMatchObject({ view: "operations", limit: 50, offset: 0, largeOnly: false, verifyChain: false })
    expect(() => q({ limit: 201 })).toThrow()
    expect(() => q({ since: "2026-01-01T00:00:00" })).toThrow()
    expect(() => q({ cmdMaxChars: 5 })).toThrow()
    expect(q({ since: "2026-01-01T00:00:00+02:00" }).since).toBe("2026-01-01T00:00:00+02:00")
  })
})

describe("Query.run operations view", () => {
  it("joins intent and outcome by opId, keeps refusals, marks pending, excludes events, newest first", () => {
    const r = Query.run(q({}), log)
    expect(r.items.map((i) => [i.opId, (i as Query.OperationItem).outcome])).toEqual([
      ["f", "noop"],
      ["e", "refused"],
      ["d", "unknown"],
      ["c", "pending"],
      ["b", "refused"],
      ["a", "ok"]
    ])
    const a = r.items.find((i) => i.opId === "a") as Query.OperationItem
    expect(a).toMatchObject({ cmd: "systemctl restart nginx", exitCode: 0, confirmGated: true, seq: 2, outcomeSeq: 3 })
    expect(a.endTs).toBeDefined()
    expect(r.nextOffset).toBeNull()
    expect(r.unparsableLines).toBe(0)
    expect(r.chain).toBeUndefined()
  })
  it("summarises the whole filtered set", () => {
    const r = Query.run(q({ limit: 1 }), log)
    expect(r.items).toHaveLength(1)
    expect(r.nextOffset).toBe(1)
    expect(r.summary).toMatchObject({
      total: 6,
      byTool: { pct_exec: 2, execute: 1, write_file: 1, snapshot_rollback: 1, guest_start: 1 },
      byOutcome: { ok: 1, refused: 2, pending: 1, unknown: 1, noop: 1 },
      byVmid: { "101": 2, "102": 1, "103": 1 },
      refusals: 2,
      pending: 1,
      confirmGated: 1,
      largeChanges: 1,
      timeouts: 1,
      signalKills: 1,
      breakerTrips: 1
    })
    expect(r.summary.firstTs).toBe("2026-01-01T12:00:01.000Z")
    expect(r.summary.lastTs).toBe("2026-01-01T12:00:08.000Z")
  })
  it("filters are ANDed", () => {
    expect(Query.run(q({ tool: "pct_exec" }), log).summary.total).toBe(2)
    expect(Query.run(q({ tool: "pct_exec", vmid: 102 }), log).items.map((i) => i.opId)).toEqual(["d"])
    expect(Query.run(q({ outcome: "pending" }), log).items.map((i) => i.opId)).toEqual(["c"])
    expect(Query.run(q({ largeOnly: true }), log).items.map((i) => i.opId)).toEqual(["c"])
    expect(Query.run(q({ pathContains: "nginx" }), log).items.map((i) => i.opId)).toEqual(["c"])
    expect(Query.run(q({ pathContains: "NGINX" }), log).items).toEqual([])
    expect(Query.run(q({ textSearch: "NGINX" }), log).items.map((i) => i.opId)).toEqual(["c", "a"])
    expect(Query.run(q({ textSearch: "already" }), log).items.map((i) => i.opId)).toEqual(["f"])
    expect(Query.run(q({ opId: "b" }), log).items.map((i) => i.opId)).toEqual(["b"])
    expect(Query.run(q({ textSearch: "rm -rf", outcome: "ok" }), log).items).toEqual([])
  })
  it("since/until are inclusive instants with offsets", () => {
    const r = Query.run(q({ since: "2026-01-01T14:00:03+02:00", until: "2026-01-01T12:00:05Z" }), log)
    expect(r.items.map((i) => i.opId)).toEqual(["d", "c", "b"])
  })
  it("cmdMaxChars shortens cmd in the response only", () => {
    const r = Query.run(q({ opId: "a", cmdMaxChars: 20 }), log)
    expect(r.items[0]!.cmd).toBe("systemctl restart ng…(+3 chars)")
    expect(log.records[1]!.record.cmd).toBe("systemctl restart nginx")
  })
  it("paginates with offset and nextOffset", () => {
    const p1 = Query.run(q({ limit: 4 }), log)
    const p2 = Query.run(q({ limit: 4, offset: p1.nextOffset! }), log)
    expect(p1.nextOffset).toBe(4)
    expect(p2.nextOffset).toBeNull()
    expect([...p1.items, ...p2.items].map((i) => i.opId)).toEqual(["f", "e", "d", "c", "b", "a"])
  })
})

describe("Query.run records view", () => {
  it("returns raw records including events, newest first", () => {
    const r = Query.run(q({ view: "records" }), log)
    expect(r.items.map((i) => (i as AuditRecord.AuditRecord).seq)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1])
    expect(r.items.at(-1)).toMatchObject({ phase: "event", tool: "_audit" })
    expect(Query.run(q({ view: "records", outcome: "pending" }), log).items.map((i) => i.opId)).toEqual(["c"])
    expect(Query.run(q({ view: "records", tool: "pct_exec" }), log).summary.total).toBe(4)
  })
  it("the result encodes with its schema", () => {
    const r = Query.run(q({ view: "records" }), log, { ok: true, checked: 9, headMatches: true })
    expect(() => Schema.encodeSync(Query.QueryResult)(r)).not.toThrow()
    expect(() => Schema.encodeSync(Query.QueryResult)(Query.run(q({}), log))).not.toThrow()
    // raw records keep their chain fields through encoding, operations stay operations
    const encoded = Schema.encodeSync(Query.QueryResult)(r)
    expect(encoded.items).toEqual(r.items)
    const ops = Query.run(q({}), log)
    expect(Schema.encodeSync(Query.QueryResult)(ops).items).toEqual(ops.items)
  })
  it("counts unparsable lines and reports a torn tail", () => {
    const text = log.records.map((p) => Canonical.toLine(p.record)).join("") + "garbage\n{\"v\":1"
    const r = Query.run(q({}), Chain.parseLog(text))
    expect(r.unparsableLines).toBe(2)
    expect(r.tornTail).toBe(true)
    expect(r.summary.total).toBe(6)
  })
})

describe("Query edge cases", () => {
  it("an empty log gives an empty summary", () => {
    const r = Query.run(q({}), Chain.parseLog(""))
    expect(r).toMatchObject({ items: [], nextOffset: null, unparsableLines: 0 })
    expect(r.summary).toMatchObject({ total: 0, firstTs: null, lastTs: null, byTool: {} })
  })
  it("records view filters by outcome, refusals and shortens cmd", () => {
    expect(Query.run(q({ view: "records", outcome: "refused" }), log).items.map((i) => i.opId)).toEqual(["e", "b"])
    expect(Query.run(q({ view: "records", outcome: "ok" }), log).items.map((i) => i.opId)).toEqual(["a"])
    const r = Query.run(q({ view: "records", opId: "b", cmdMaxChars: 20 }), log)
    expect(r.items[0]!.cmd).toBe("rm -rf /")
    expect(r.summary.byOutcome).toEqual({ refused: 1 })
    expect(Query.run(q({ view: "records", tool: "_audit" }), log).summary.byOutcome).toEqual({ event: 1 })
  })
  it("an outcome without intent stands alone; a later intent of the same op merges into it", () => {
    const odd = logOf([
      { opId: "x", phase: "outcome", tool: "guest_stop", outcome: "failed", error: { code: "TaskFailed", message: "boom" } },
      { opId: "x", phase: "intent", tool: "guest_stop", vmid: 101 }
    ])
    const r = Query.run(q({}), odd)
    expect(r.items).toHaveLength(1)
    expect(r.items[0]).toMatchObject({ opId: "x", outcome: "failed", vmid: 101, outcomeSeq: 1 })
    expect(Query.run(q({ textSearch: "BOOM" }), odd).summary.total).toBe(1)
  })
})

describe("Chain edge cases", () => {
  it("lines that are JSON but not records are unparsable", () => {
    const parsed = Chain.parseLog('null\n[1]\n{"v":1}\n"x"\n')
    expect(parsed.records).toEqual([])
    expect(parsed.unparsable).toEqual([1, 2, 3, 4])
    expect(parsed.tornTail).toBe(false)
  })
  it("a first record not linked to the genesis hash breaks the chain", () => {
    const rec = Canonical.seal({ ...identity, v: 1, seq: 1, ts: "2026-01-01T00:00:00.000Z", prevHash: "f".repeat(64), opId: "o", phase: "event", tool: "_audit" })
    const report = Chain.verifyChain(Chain.parseLog(Canonical.toLine(rec)), { seq: 1, hash: rec.hash })
    expect(report.firstBreak).toMatchObject({ seq: 1, reason: expect.stringContaining("genesis") })
  })
})
