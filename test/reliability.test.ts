/**
 * Reliability at companion (issue "Companion tier core"): the server process is SIGKILLed at seeded
 * random points while 100 writes run against five files in a sandbox container. Afterwards every file
 * is byte-identical to one of the contents written to it (or still absent), every write that returned
 * has its backup version and its audit outcome, and the audit chain verifies. A dropped SSH connection
 * during a transfer leaves the guest file unchanged.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { connect, errorOf, okOf, type BinSession } from "./support/Bin.js"
import * as SandboxScope from "./support/SandboxScope.js"

let sandbox: SandboxScope.Started
const dataDir = mkdtempSync(join(tmpdir(), "homelab-mcp-reliability-"))

beforeAll(async () => {
  sandbox = await SandboxScope.start({ tier: "companion", ssh: true })
})

afterAll(async () => {
  await sandbox?.close()
  rmSync(dataDir, { recursive: true, force: true })
})

/** A small seeded PRNG (mulberry32) so kill points and contents repeat run to run. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const TARGETS = [0, 1, 2, 3, 4].map((i) => `/root/rel/f${i}.conf`)
const WRITES = 100

describe("SIGKILL during writes", () => {
  it("leaves every target old or new, every completed write backed up and audited, and the chain intact", async () => {
    const random = prng(20261126)
    const env = { ...sandbox.handle.env("companion") }
    const setup = await connect(env, ["serve"], { dataDir })
    okOf(await setup.call("pct_exec", { vmid: 100, command: "mkdir -p /root/rel" }))
    await setup.close()

    const written = new Map<string, Set<string>>(TARGETS.map((t) => [t, new Set<string>()]))
    const completed: Array<{ path: string; versionId: string; opId: string; content: string }> = []
    let attempted = 0
    let kills = 0
    while (attempted < WRITES) {
      const session = await connect(env, ["serve"], { dataDir })
      let killed = false
      // Kill after a random number of completed writes (0..6) plus a random delay, so every session
      // makes progress however loaded the machine is, and the kill lands while writes are in flight.
      const killAfterWrites = Math.floor(random() * 7)
      const killDelayMs = Math.floor(random() * 400)
      let done = 0
      let timer: ReturnType<typeof setTimeout> | undefined
      const armKill = () => {
        timer = setTimeout(() => {
          killed = true
          kills++
          session.kill("SIGKILL")
        }, killDelayMs)
      }
      if (killAfterWrites === 0) armKill()
      const worker = async (path: string) => {
        while (!killed && attempted < WRITES) {
          const n = attempted++
          const content = `# write ${n} to ${path}\n${"x".repeat(Math.floor(random() * 3000))}\n`
          written.get(path)!.add(content)
          try {
            const r = okOf<{ versionId: string; opId: string }>(await session.call("pct_write_file", { vmid: 100, path, content }))
            completed.push({ path, versionId: r.versionId, opId: r.opId, content })
            if (++done === killAfterWrites) armKill()
          } catch {
            return // the server died mid-call: the outcome of this write is unknown
          }
        }
      }
      await Promise.all(TARGETS.map(worker))
      if (timer !== undefined) clearTimeout(timer)
      if (killed) await session.close().catch(() => undefined)
      else await session.close()
    }
    process.stderr.write(`reliability: ${WRITES} writes attempted, ${completed.length} completed, ${kills} SIGKILLs\n`)
    expect(kills).toBeGreaterThan(0)
    expect(completed.length).toBeGreaterThanOrEqual(20)

    const check = await connect(env, ["serve"], { dataDir })
    // a check that fails because the server went away says what the server printed
    const failing = (e: unknown) => new Error(`${String(e)}\nserver stderr:\n${check.stderr()}`)
    try {
      for (const path of TARGETS) {
        const read = await check.call("pct_read_file", { vmid: 100, path })
        if (read.isError === true) {
          expect(errorOf(read).code).toBe("FileNotFound")
          expect(completed.some((c) => c.path === path)).toBe(false)
        } else {
          const content = okOf<{ content: string }>(read).content
          expect(written.get(path)!.has(content), `${path} holds content no write produced`).toBe(true)
        }
      }
      for (const c of completed) {
        const list = okOf<{ versions: Array<{ versionId: string }> }>(await check.call("list_backups", { vmid: 100, path: c.path, limit: 100 }))
        const kept = list.versions.some((v) => v.versionId === c.versionId)
        if (!kept) {
          // only the per-file cap (10, oldest first) may have evicted it: then ten versions remain, none older
          // (versions of writes killed after their backup count too). ULIDs start with the creation time.
          expect(list.versions.length, `${c.path} ${c.versionId} missing`).toBe(10)
          for (const v of list.versions) expect(v.versionId.slice(0, 10) >= c.versionId.slice(0, 10)).toBe(true)
        }
        const audit = okOf<{ items: Array<{ outcome: string }> }>(await check.call("query_audit", { opId: c.opId }))
        expect(audit.items.map((i) => i.outcome)).toContain("ok")
      }
      const q = okOf<{ chain: { ok: boolean; checked: number } }>(await check.call("query_audit", { verifyChain: true, limit: 1 }))
      expect(q.chain.ok).toBe(true)
      expect(q.chain.checked).toBeGreaterThan(completed.length)
    } catch (e) {
      throw failing(e)
    } finally {
      await check.close()
    }
  }, 600_000)
})

describe("a server killed while taking the audit lock", () => {
  it("leaves an empty lock file that the next server breaks, so it starts and writes", async () => {
    const dir = mkdtempSync(join(tmpdir(), "homelab-mcp-torn-lock-"))
    try {
      // what SIGKILL between the lock's exclusive create and its pid write leaves behind
      writeFileSync(join(dir, "audit.jsonl.lock"), "")
      const s = await connect({ ...sandbox.handle.env("companion") }, ["serve"], { dataDir: dir })
      try {
        okOf(await s.call("pct_write_file", { vmid: 100, path: "/root/torn-lock.conf", content: "x = 1\n" }))
        const q = okOf<{ chain: { ok: boolean } }>(await s.call("query_audit", { verifyChain: true, limit: 1 }))
        expect(q.chain.ok).toBe(true)
      } finally {
        await s.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("dropped SSH connection mid-transfer", () => {
  let s: BinSession
  beforeAll(async () => {
    s = await connect({ ...sandbox.handle.env("companion") })
  })
  afterAll(async () => {
    sandbox.handle.control.removeFault("drop-push")
    await s?.close()
  })

  it("leaves the guest file unchanged and the write fails with a transport error", async () => {
    const path = "/root/rel/drop.conf"
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "original\n" }))
    sandbox.handle.control.addFault({
      id: "drop-push",
      target: { kind: "ssh", argv: "pct.*push" },
      when: { _tag: "always" },
      effect: { _tag: "drop", phase: "body" }
    })
    const failed = await s.call("pct_write_file", { vmid: 100, path, content: "replacement that must not land\n" })
    expect(failed.isError).toBe(true)
    expect(errorOf(failed).code).toMatch(/^Ssh/)
    sandbox.handle.control.removeFault("drop-push")
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("original\n")
  })
})

describe("dropping the SSH connection during the upload to the node", () => {
  let s: BinSession
  beforeAll(async () => {
    s = await connect({ ...sandbox.handle.env("companion") })
  })
  afterAll(async () => {
    await s?.close()
  })

  it("answers with a transport error at once, leaves the guest file as it was and no node temp file", async () => {
    // the previous build never answered: closing the upload's handle on the dead session waited forever,
    // as an SFTP request on a closed channel is never answered and its limit could not interrupt a finalizer
    const path = "/root/drop-upload.conf"
    // a process killed by the tests above cannot have removed its temp files: only this call's count
    const nodeTemps = async () =>
      (await sandbox.handle.lab.machines!.get("host")!.exec("ls -a /tmp")).stdout.split("\n").filter((f) => f.startsWith("mcp."))
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: "original\n" }))
    const before = await nodeTemps()
    sandbox.handle.control.addFault({
      id: "drop-upload",
      target: { kind: "ssh", argv: "sftp-write /tmp/mcp" },
      when: { _tag: "always" },
      effect: { _tag: "drop", phase: "body", afterBytes: 1000 }
    })
    const started = Date.now()
    try {
      const failed = await s.call("pct_write_file", { vmid: 100, path, content: "replacement that must not land\n".repeat(200) })
      expect(errorOf(failed).code).toMatch(/^Ssh/)
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      sandbox.handle.control.removeFault("drop-upload")
    }
    expect(okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content).toBe("original\n")
    expect(await nodeTemps()).toEqual(before)
  }, 60_000)
})

describe("cancelling writes at every moment", () => {
  let s: BinSession
  beforeAll(async () => {
    // every version kept, so each operation's can be found
    s = await connect({ ...sandbox.handle.env("companion"), MCP_BACKUP_PER_FILE_CAP: "100" })
  })
  afterAll(async () => {
    await s?.close()
  })

  it("never splits an intent from its outcome: failed ones keep no version, unknown ones an uncertain one, the file old or new", async () => {
    const path = "/root/cancel.conf"
    const text = (tag: string) => Array.from({ length: 6000 }, (_, i) => `${tag} ${i} ${"x".repeat(20)}\n`).join("")
    const current = text("v0")
    okOf(await s.call("pct_write_file", { vmid: 100, path, content: current }))
    const contents = new Set([current])
    for (let delay = 0; delay <= 120; delay += 6) {
      const next = text(`d${delay}`)
      contents.add(next)
      const abort = new AbortController()
      const call = s.client.callTool({ name: "pct_write_file", arguments: { vmid: 100, path, content: next } }, undefined, { signal: abort.signal }).then(
        () => "returned",
        () => "cancelled"
      )
      await new Promise((r) => setTimeout(r, delay))
      abort.abort("test")
      await call
    }
    // let any write still finishing on the node land
    await new Promise((r) => setTimeout(r, 500))
    const live = okOf<{ content: string }>(await s.call("pct_read_file", { vmid: 100, path })).content
    expect(contents.has(live)).toBe(true)
    const records = okOf<{ items: Array<{ opId: string; phase: string; outcome?: string }> }>(
      await s.call("query_audit", { view: "records", tool: "pct_write_file", pathContains: "cancel.conf", limit: 200 })
    ).items
    const versions = okOf<{ versions: Array<{ opId: string; uncertain: boolean }> }>(await s.call("list_backups", { vmid: 100, path, limit: 100 })).versions
    const byOp = new Map<string, Array<{ phase: string; outcome?: string }>>()
    for (const r of records) byOp.set(r.opId, [...(byOp.get(r.opId) ?? []), r])
    const seen = new Set<string>()
    for (const [opId, recs] of byOp) {
      const outcomes = recs.filter((r) => r.phase === "outcome")
      expect(recs.filter((r) => r.phase === "intent"), opId).toHaveLength(1)
      expect(outcomes, opId).toHaveLength(1)
      const version = versions.find((v) => v.opId === opId)
      if (outcomes[0]!.outcome === "failed") expect(version, opId).toBeUndefined()
      if (outcomes[0]!.outcome === "unknown") expect(version?.uncertain, opId).toBe(true)
      if (outcomes[0]!.outcome === "ok") expect(version?.uncertain, opId).toBe(false)
      seen.add(outcomes[0]!.outcome!)
    }
    // the cancellations landed at several stages (before any record, and at least one after the intent)
    expect(byOp.size).toBeGreaterThan(1)
    expect(okOf<{ chain: { ok: boolean } }>(await s.call("query_audit", { view: "records", verifyChain: true, limit: 1 })).chain.ok).toBe(true)
  })
})
