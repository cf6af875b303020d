import { describe, expect, it } from "@effect/vitest"
import * as Chain from "@homelab-mcp/core/audit/Chain"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))
const tsx = path.resolve(here, "../../../node_modules/.bin/tsx")

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "audit-"))

const open = (dir: string, warnings: Array<string> = [], extra: Partial<AuditLogJsonl.Options> = {}) =>
  AuditLogJsonl.make({
    path: path.join(dir, "audit.jsonl"),
    tier: "companion",
    rootTier: true,
    serverVersion: "9.9.9",
    node: "pve",
    host: "10.0.0.2",
    onWarning: (m) => warnings.push(m),
    ...extra
  })

const readLog = (dir: string) => fs.readFileSync(path.join(dir, "audit.jsonl"), "utf8")
const readHead = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, "audit.head.json"), "utf8"))
const verifyFile = (dir: string) => Chain.verifyChain(Chain.parseLog(readLog(dir)), readHead(dir))

describe("AuditLogJsonl", () => {
  it.live("writes a start event, chains and fsyncs records, replaces the head file", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      const intent = yield* log.append({ opId: "op1", phase: "intent", tool: "guest_stop", vmid: 101, confirmGated: true })
      const outcome = yield* log.append({ opId: "op1", phase: "outcome", tool: "guest_stop", vmid: 101, outcome: "ok", upid: "UPID:x" })
      const lines = readLog(dir).split("\n")
      expect(lines).toHaveLength(4)
      const start = JSON.parse(lines[0]!)
      expect(start).toMatchObject({ seq: 1, phase: "event", tool: "_audit", tier: "companion", rootTier: true, serverVersion: "9.9.9", node: "pve", host: "10.0.0.2" })
      expect(start.note).toBe("server start: version 9.9.9, tier companion, root enabled")
      expect(intent).toMatchObject({ v: 1, seq: 2, prevHash: start.hash })
      expect(outcome).toMatchObject({ seq: 3, prevHash: intent.hash })
      expect(JSON.parse(lines[2]!)).toEqual(outcome)
      expect(readHead(dir)).toEqual({ seq: 3, hash: outcome.hash })
      expect(yield* log.verify).toEqual({ ok: true, checked: 3, headMatches: true })
      expect(fs.existsSync(path.join(dir, "audit.jsonl.lock"))).toBe(false)
      if (process.platform !== "win32") expect(fs.statSync(path.join(dir, "audit.jsonl")).mode & 0o777).toBe(0o600)
    }))

  it.live("makes the log's missing directory (0700) at its first append", () =>
    Effect.gen(function* () {
      const dir = path.join(tmpDir(), "a", "b")
      const log = yield* open(dir)
      yield* log.append({ opId: "op1", phase: "intent", tool: "guest_stop", vmid: 101 })
      expect(readLog(dir).split("\n").filter((l) => l !== "")).toHaveLength(2)
      if (process.platform !== "win32") expect(fs.statSync(dir).mode & 0o777).toBe(0o700)
      expect(fs.existsSync(path.join(dir, "audit.jsonl.lock"))).toBe(false)
    }))

  it.live("redacts cmd, note and error texts before hashing", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      const rec = yield* log.append({
        opId: "op", phase: "outcome", tool: "execute", outcome: "failed",
        cmd: "curl -H 'Authorization: PVEAPIToken=mcp@pve!x=0f6c7c6e-1111-2222-3333-444455556666' https://pve",
        note: "mysql --password=hunter2",
        error: { code: "CommandFailed", message: "login with token=abcdef123 failed" }
      })
      const text = readLog(dir)
      for (const secret of ["0f6c7c6e-1111", "hunter2", "abcdef123"]) expect(text).not.toContain(secret)
      expect(rec.cmd).toContain("[REDACTED]")
      expect(yield* log.verify).toMatchObject({ ok: true })
    }))

  it.live("query: operations view with pending after a crash between intent and outcome, and the chain verdict", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const first = yield* open(dir)
      yield* first.append({ opId: "done", phase: "intent", tool: "guest_start", vmid: 100 })
      yield* first.append({ opId: "done", phase: "outcome", tool: "guest_start", vmid: 100, outcome: "ok" })
      yield* first.append({ opId: "crashed", phase: "intent", tool: "pct_exec", vmid: 101, cmd: "apt upgrade -y" })
      // the process dies here; a new one opens the same log
      const second = yield* open(dir)
      const r = yield* second.query({ verifyChain: true })
      expect(r.items.map((i) => [i.opId, "outcome" in i ? i.outcome : undefined])).toEqual([
        ["crashed", "pending"],
        ["done", "ok"]
      ])
      expect(r.summary.pending).toBe(1)
      expect(r.chain).toEqual({ ok: true, checked: 5, headMatches: true })
      const records = yield* second.query({ view: "records", tool: "_audit" })
      expect(records.summary.total).toBe(2)
    }))

  it.live("a torn last line is reported, never fatal, and appending continues on a new line", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const warnings: Array<string> = []
      yield* open(dir)
      fs.appendFileSync(path.join(dir, "audit.jsonl"), '{"v":1,"seq":2,"ts":"2026-')
      const log = yield* open(dir, warnings)
      expect(warnings.join("\n")).toContain("torn")
      const rec = yield* log.append({ opId: "x", phase: "intent", tool: "guest_start" })
      const lines = readLog(dir).split("\n")
      expect(lines[1]).toBe('{"v":1,"seq":2,"ts":"2026-')
      expect(JSON.parse(lines.at(-2)!)).toEqual(rec)
      const r = yield* log.query({ view: "records", verifyChain: true })
      expect(r.unparsableLines).toBe(1)
      expect(r.chain).toMatchObject({ ok: true, headMatches: true })
      expect(r.items.some((i) => i.note?.includes("torn last line"))).toBe(true)
    }))

  it.live("a truncated tail is a chain discontinuity: stderr warning and an event record", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      yield* log.append({ opId: "a", phase: "intent", tool: "guest_start" })
      yield* log.append({ opId: "a", phase: "outcome", tool: "guest_start", outcome: "ok" })
      const lines = readLog(dir).split("\n")
      fs.writeFileSync(path.join(dir, "audit.jsonl"), lines.slice(0, 2).join("\n") + "\n")
      expect((yield* log.verify)).toMatchObject({ ok: false, headMatches: false })
      const warnings: Array<string> = []
      const reopened = yield* open(dir, warnings)
      expect(warnings.join("\n")).toContain("chain discontinuity at seq 3")
      const events = yield* reopened.query({ view: "records", tool: "_audit" })
      expect(events.items.map((i) => i.note)).toContain(
        "chain discontinuity at seq 3: the head file names seq 3 (" + lines[2]!.match(/"hash":"(\w{12})/)![1] + "…) but the log ends at seq 2 (" + JSON.parse(lines[1]!).hash.slice(0, 12) + "…)"
      )
    }))

  it.live("an edited record is found by verify and query", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      yield* log.append({ opId: "a", phase: "intent", tool: "execute", cmd: "ls" })
      yield* log.append({ opId: "a", phase: "outcome", tool: "execute", outcome: "ok" })
      fs.writeFileSync(path.join(dir, "audit.jsonl"), readLog(dir).replace('"cmd":"ls"', '"cmd":"rm"'))
      const r = yield* log.query({ verifyChain: true })
      expect(r.chain).toMatchObject({ ok: false, firstBreak: { seq: 2, reason: expect.stringContaining("edited") } })
    }))

  it.live("the head file one behind (crash after the append) is repaired without a discontinuity", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      const a = yield* log.append({ opId: "a", phase: "intent", tool: "guest_start" })
      yield* log.append({ opId: "b", phase: "intent", tool: "guest_start" })
      fs.writeFileSync(path.join(dir, "audit.head.json"), JSON.stringify({ seq: a.seq, hash: a.hash }))
      const warnings: Array<string> = []
      const reopened = yield* open(dir, warnings)
      expect(warnings.join("\n")).toContain("repaired")
      expect(warnings.join("\n")).not.toContain("discontinuity")
      expect(yield* reopened.verify).toMatchObject({ ok: true })
    }))

  it.live("a lock left by a dead process is broken; a live holder makes the append wait, then fail", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir, [], { lockTimeoutMs: 300 })
      const lock = path.join(dir, "audit.jsonl.lock")
      fs.writeFileSync(lock, "999999999\n")
      yield* log.append({ opId: "a", phase: "intent", tool: "guest_start" })
      expect(fs.existsSync(lock)).toBe(false)
      fs.writeFileSync(lock, `${process.ppid}\n`)
      const error = yield* Effect.flip(log.append({ opId: "b", phase: "intent", tool: "guest_start" }))
      expect(error._tag).toBe("AuditUnavailable")
      expect(error.reason).toContain(`held by pid ${process.ppid}`)
      fs.rmSync(lock)
      expect(yield* log.verify).toMatchObject({ ok: true, checked: 2 })
    }))

  it.live("an empty lock (its owner killed between creating it and writing its pid) is broken once it is 2 s old", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir, [], { lockTimeoutMs: 300 })
      const lock = path.join(dir, "audit.jsonl.lock")
      // a fresh empty lock may be an owner still writing its pid: the append waits, then gives up
      fs.writeFileSync(lock, "")
      const waited = yield* Effect.flip(log.append({ opId: "a", phase: "intent", tool: "guest_start" }))
      expect(waited.reason).toContain("held by a process that has not written its pid yet")
      // the same lock older than 2 s is a leftover: broken at once, long before the 30 s of a named owner
      const old = new Date(Date.now() - 3000)
      fs.utimesSync(lock, old, old)
      yield* log.append({ opId: "b", phase: "intent", tool: "guest_start" })
      expect(fs.existsSync(lock)).toBe(false)
      // the start event and `b`
      expect(yield* log.verify).toMatchObject({ ok: true, checked: 2 })
    }))

  it.live("an unwritable location fails with AuditUnavailable", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      fs.writeFileSync(path.join(dir, "file"), "")
      const error = yield* Effect.flip(open(path.join(dir, "file", "sub")))
      expect(error._tag).toBe("AuditUnavailable")
      expect(error.message).toContain("nothing was changed")
    }))

  it.live("an unreadable log makes query fail with AuditUnavailable", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      fs.rmSync(path.join(dir, "audit.jsonl"))
      fs.mkdirSync(path.join(dir, "audit.jsonl"))
      const error = yield* Effect.flip(log.query({}))
      expect(error._tag).toBe("AuditUnavailable")
      expect(error.reason).toContain("cannot read")
      const appendError = yield* Effect.flip(log.append({ opId: "x", phase: "intent", tool: "guest_start" }))
      expect(appendError._tag).toBe("AuditUnavailable")
    }))

  it.live("serialized in process: concurrent appends keep one chain", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const log = yield* open(dir)
      yield* Effect.forEach(Array.from({ length: 40 }, (_, i) => i), (i) => log.append({ opId: `o${i}`, phase: "intent", tool: "t" }), { concurrency: "unbounded" })
      expect(verifyFile(dir)).toEqual({ ok: true, checked: 41, headMatches: true })
    }))

  it("serialized across processes: two writers keep one chain", async () => {
    const dir = tmpDir()
    const logPath = path.join(dir, "audit.jsonl")
    const run = (tag: string) =>
      new Promise<void>((resolve, reject) =>
        execFile(tsx, [path.join(here, "fixtures/auditAppend.ts"), logPath, "80", tag], { cwd: here }, (err, _o, stderr) =>
          err ? reject(new Error(`${tag}: ${stderr}`)) : resolve()
        )
      )
    const both = Promise.all([run("A"), run("B")])
    while (!(fs.existsSync(`${logPath}.ready-A`) && fs.existsSync(`${logPath}.ready-B`))) {
      await new Promise((r) => setTimeout(r, 10))
    }
    fs.writeFileSync(`${logPath}.go`, "")
    await both
    const report = verifyFile(dir)
    expect(report).toEqual({ ok: true, checked: 162, headMatches: true })
    const ops = Chain.parseLog(readLog(dir)).records.map((r) => r.record.opId).filter((o) => /^[AB]-/.test(o))
    expect(ops.filter((o) => o.startsWith("A-"))).toHaveLength(80)
    expect(ops.filter((o) => o.startsWith("B-"))).toHaveLength(80)
    // the writers really interleaved (so the lock, not luck, kept the chain)
    const switches = ops.filter((o, i) => i > 0 && o[0] !== ops[i - 1]![0]).length
    expect(switches).toBeGreaterThan(1)
  }, 60_000)
})

describe("AuditLogJsonl.layerConfig", () => {
  it.live("reads MCP_AUDIT_LOG_PATH and MCP_REDACTION_EXTRA_KEYS; node and host come from the API client", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const api = Layer.succeed(PveApi, {
        node: "pve7",
        host: "192.0.2.7",
        request: () => Effect.die(new Error("unexpected request")),
        get: () => Effect.die(new Error("unexpected request")),
        post: () => Effect.die(new Error("unexpected request")),
        getEach: () => Effect.die(new Error("unexpected request")),
        postEach: () => Effect.die(new Error("unexpected request"))
      })
      const env = ConfigProvider.fromMap(
        new Map([
          ["MCP_AUDIT_LOG_PATH", path.join(dir, "custom.jsonl")],
          ["MCP_REDACTION_EXTRA_KEYS", "vault_unseal"]
        ])
      )
      const rec = yield* Effect.flatMap(AuditLog, (log) =>
        log.append({ opId: "o", phase: "intent", tool: "execute", cmd: "export VAULT_UNSEAL=s3cr3tvalue; run" })
      ).pipe(
        Effect.provide(AuditLogJsonl.layerConfig({ tier: "root", rootTier: true, serverVersion: "1.2.3" }).pipe(Layer.provide(api))),
        Effect.withConfigProvider(env)
      )
      expect(rec).toMatchObject({ node: "pve7", host: "192.0.2.7", tier: "root", seq: 2 })
      const text = fs.readFileSync(path.join(dir, "custom.jsonl"), "utf8")
      expect(text).not.toContain("s3cr3tvalue")
      expect(fs.existsSync(path.join(dir, "audit.head.json"))).toBe(true)
    }))
})

describe("AuditLogJsonl.makeMemory", () => {
  it.effect("chains in memory and simulates an unavailable log", () =>
    Effect.gen(function* () {
      const mem = yield* AuditLogJsonl.makeMemory({ failAppend: (e) => e.tool === "broken" })
      yield* mem.service.append({ opId: "a", phase: "intent", tool: "guest_start" })
      const err = yield* Effect.flip(mem.service.append({ opId: "b", phase: "intent", tool: "broken" }))
      expect(err._tag).toBe("AuditUnavailable")
      yield* mem.service.append({ opId: "a", phase: "outcome", tool: "guest_start", outcome: "ok" })
      expect(mem.records().map((r) => r.seq)).toEqual([1, 2])
      expect(yield* mem.service.verify).toEqual({ ok: true, checked: 2, headMatches: true })
      mem.setText(mem.text().replace("guest_start", "guest_stop"))
      expect((yield* mem.service.verify).ok).toBe(false)
    }))
})
