import { describe, expect, it } from "@effect/vitest"
import { gunzip, gzip, sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Record from "@homelab-mcp/core/backup/Record"
import * as Target from "@homelab-mcp/core/backup/Target"
import type { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import * as BackupStoreFs from "@homelab-mcp/transport/BackupStoreFs"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Logger from "effect/Logger"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${i} ${sha256(seed + i)}\n`).join("")
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "backups-"))

const walk = (dir: string): Array<string> =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)).map((p) => `${e.name}/${p}`) : [e.name]
  )

const write = (store: BackupStore.Service, target: Target.Target, previous: Uint8Array | null, next: Uint8Array | null) =>
  store.store({
    target,
    previous: previous === null ? { exists: false } : { exists: true, bytes: previous },
    next,
    tool: "write_file",
    opId: "op"
  })

/** Collects warnings logged by the store. */
const capture = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ message }) => {
    lines.push(Array.isArray(message) ? message.join(" ") : String(message))
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

describe("BackupStoreFs (on disk)", () => {
  it.live("writes the documented layout with atomic files and no staging leftovers", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const store = yield* BackupStoreFs.make({ dir })
      const f = Target.pct(101, "/etc/hosts")
      const before = t(text(30, "hosts"))
      const r = yield* write(store, f, before, t("127.0.0.1 localhost\n"))
      const key = Target.targetKey(f.descriptor)
      expect(JSON.parse(fs.readFileSync(path.join(dir, "store.json"), "utf8"))).toEqual({ format: "homelab-mcp-backups", version: 1 })
      expect(JSON.parse(fs.readFileSync(path.join(dir, "targets", key, "target.json"), "utf8"))).toEqual({
        descriptor: "pct:101:/etc/hosts",
        kind: "pct",
        vmid: 101,
        path: "/etc/hosts"
      })
      const record = Record.decodeJson(fs.readFileSync(path.join(dir, "targets", key, `${r.versionId}.json`), "utf8"))
      expect(record).toEqual(r.record)
      expect(r.versionId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/)
      expect(record.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      const blobFile = path.join(dir, "blobs", r.record.blob!.slice(0, 2), `${r.record.blob}.gz`)
      const blob = fs.readFileSync(blobFile)
      expect(sha256(gunzip(blob))).toBe(r.record.blob)
      expect(Buffer.compare(gunzip(blob), before)).toBe(0)
      expect(r.record.storedBytes).toBe(blob.length)
      expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([])
      expect(fs.existsSync(path.join(dir, ".lock"))).toBe(false)
      const usage = yield* store.usage
      expect(usage.usedBytes).toBe(blob.length + fs.statSync(path.join(dir, "targets", key, `${r.versionId}.json`)).size)
    }))

  it.live("makes a directory it finds missing (store root, tmp/, a blob's or target's) and writes on", () =>
    Effect.gen(function* () {
      const dir = path.join(tmpDir(), "nested", "backups")
      const store = yield* BackupStoreFs.make({ dir })
      const f = Target.pct(101, "/etc/app.conf")
      const a = t(text(20, "a"))
      yield* write(store, f, a, t("b\n"))
      if (process.platform !== "win32") expect(fs.statSync(path.join(dir, "tmp")).mode & 0o777).toBe(0o700)
      // someone clears the store's directories under a running server
      for (const sub of ["tmp", "blobs", "targets"]) fs.rmSync(path.join(dir, sub), { recursive: true, force: true })
      const c = t(text(20, "c"))
      const r = yield* write(store, f, c, t("d\n"))
      const restored = yield* store.restore(f.descriptor, r.versionId, { status: "unknown", reason: "test" })
      expect(restored.state.kind === "bytes" && Buffer.compare(restored.state.bytes, c)).toBe(0)
      expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([])
      expect(fs.existsSync(path.join(dir, "targets", Target.targetKey(f.descriptor), "target.json"))).toBe(true)
    }))

  it.live("reopens the same store: records, ordering and restores survive a restart", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const f = Target.host("/etc/motd")
      const first = yield* BackupStoreFs.make({ dir })
      yield* write(first, f, null, t("a\n"))
      yield* write(first, f, t("a\n"), t("b\n"))
      const again = yield* BackupStoreFs.make({ dir })
      const versions = yield* again.versions(f.descriptor)
      expect(versions.map((v) => v.seq)).toEqual([2, 1])
      const r = yield* again.restore(f.descriptor, undefined, { status: "present", sha256: sha256("b\n"), bytes: t("b\n") })
      expect(r.state).toMatchObject({ kind: "bytes", sha256: sha256("a\n") })
    }))

  it.live("startup removes stale staging files and unreferenced blobs, and logs records whose blob is missing", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const store = yield* BackupStoreFs.make({ dir })
      const f = Target.host("/etc/a")
      const kept = yield* write(store, f, t(text(5, "keep")), t("x\n"))
      const lost = yield* write(store, Target.host("/etc/b"), t(text(5, "lost")), t("y\n"))
      const orphanSha = sha256("orphan")
      fs.mkdirSync(path.join(dir, "blobs", orphanSha.slice(0, 2)), { recursive: true })
      fs.writeFileSync(path.join(dir, "blobs", orphanSha.slice(0, 2), `${orphanSha}.gz`), gzip(t("orphan")))
      const old = path.join(dir, "tmp", "old.tmp")
      const fresh = path.join(dir, "tmp", "fresh.tmp")
      fs.writeFileSync(old, "torn")
      fs.writeFileSync(fresh, "in flight")
      const hourAgo = (Date.now() - 2 * 3600_000) / 1000
      fs.utimesSync(old, hourAgo, hourAgo)
      fs.rmSync(path.join(dir, "blobs", lost.record.blob!.slice(0, 2), `${lost.record.blob}.gz`))
      const log = capture()
      const reopened = yield* BackupStoreFs.make({ dir }).pipe(Effect.provide(log.layer))
      expect(fs.existsSync(old)).toBe(false)
      expect(fs.existsSync(fresh)).toBe(true)
      expect(fs.existsSync(path.join(dir, "blobs", orphanSha.slice(0, 2), `${orphanSha}.gz`))).toBe(false)
      expect(fs.existsSync(path.join(dir, "blobs", kept.record.blob!.slice(0, 2), `${kept.record.blob}.gz`))).toBe(true)
      expect(log.lines.join("\n")).toContain(`backup version ${lost.versionId} of host:/etc/b names a missing blob`)
      const listing = yield* reopened.list("host:/etc/b", { status: "present", sha256: sha256("y\n") })
      expect(listing[0]).toMatchObject({ revertible: false, revertReason: "blob missing" })
    }))

  it.live("corruption: a tampered blob is reported and never returned as content", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const store = yield* BackupStoreFs.make({ dir })
      const f = Target.host("/etc/c")
      const r = yield* write(store, f, t(text(5, "c")), t("new\n"))
      fs.writeFileSync(path.join(dir, "blobs", r.record.blob!.slice(0, 2), `${r.record.blob}.gz`), gzip(t("something else\n")))
      const failed = yield* Effect.flip(store.restore(f.descriptor, r.versionId, { status: "present", sha256: sha256("new\n"), bytes: t("new\n") }))
      expect(failed._tag).toBe("NotRevertible")
      expect(failed.message).toContain("backup corrupted")
      // a later write of the same content heals the blob (content addressing checks what is on disk)
      const again = yield* write(store, f, t(text(5, "c")), t("newer\n"))
      expect(again.record.blob).toBe(r.record.blob)
      const ok = yield* store.restore(f.descriptor, r.versionId, { status: "present", sha256: sha256("new\n"), bytes: t("new\n") })
      expect(ok.state).toMatchObject({ kind: "bytes", sha256: sha256(text(5, "c")) })
    }))

  it.live("breaks a .lock left by a dead process, waits for a live one and gives up with Internal", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const store = yield* BackupStoreFs.make({ dir, lockTimeoutMs: 300 })
      const dead = { pid: 2 ** 22 + 12345, host: os.hostname(), time: Date.now(), token: "dead" }
      fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify(dead))
      const r = yield* write(store, Target.host("/x"), null, t("x"))
      expect(r.kind).toBe("absent")
      expect(fs.existsSync(path.join(dir, ".lock"))).toBe(false)
      // held by a live process (this one, under another token) and fresh: waits, then fails typed
      fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: process.ppid, host: os.hostname(), time: Date.now(), token: "live" }))
      const busy = yield* Effect.flip(write(store, Target.host("/y"), null, t("y")))
      expect(busy._tag).toBe("Internal")
      expect(busy.message).toMatch(/lock is held by pid/)
      // another machine's lock is judged by age only (30 s by default; 100 ms here)
      const aged = yield* BackupStoreFs.make({ dir, lockStaleMs: 100 }).pipe(Effect.exit)
      expect(Exit.isSuccess(aged)).toBe(true)
      fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: 1, host: "elsewhere", time: Date.now() - 1000, token: "nas" }))
      const store2 = yield* BackupStoreFs.make({ dir, lockStaleMs: 100 })
      const ok = yield* write(store2, Target.host("/z"), null, t("z"))
      expect(ok.kind).toBe("absent")
      // an empty lock (owner died between create and write) is stale after two seconds, not thirty
      const lockFile = path.join(dir, ".lock")
      fs.writeFileSync(lockFile, "")
      const threeSecondsAgo = (Date.now() - 3000) / 1000
      fs.utimesSync(lockFile, threeSecondsAgo, threeSecondsAgo)
      const torn = yield* write(store, Target.host("/w"), null, t("w"))
      expect(torn.kind).toBe("absent")
    }))

  it.live("fill the store on disk past its caps: the newest version of every file survives, disk usage matches the cap", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const cap = 40_000
      const store = yield* BackupStoreFs.make({ dir, globalCapBytes: cap, perFileCap: 4 })
      const live = new Map<string, Uint8Array>()
      const newest = new Map<string, string>()
      for (let round = 0; round < 8; round++) {
        for (let f = 0; f < 6; f++) {
          const target = Target.qm(300 + f, "/etc/app.conf")
          const before = live.get(target.descriptor) ?? null
          const next = t(text(40, `${f}-${round}`))
          const r = yield* write(store, target, before, next)
          live.set(target.descriptor, next)
          newest.set(target.descriptor, r.versionId)
        }
      }
      const onDisk = walk(dir)
        .filter((p) => p.startsWith("blobs/") || /^targets\/[0-9a-f]{32}\/[0-9A-Z]{26}\.json$/.test(p))
        .reduce((n, p) => n + fs.statSync(path.join(dir, p)).size, 0)
      const usage = yield* store.usage
      expect(usage.usedBytes).toBe(onDisk)
      expect(onDisk).toBeLessThanOrEqual(cap)
      for (const [descriptor, id] of newest) {
        const versions = yield* store.versions(descriptor)
        expect(versions[0]!.versionId).toBe(id)
        const bytes = live.get(descriptor)!
        const r = yield* store.restore(descriptor, id, { status: "present", sha256: sha256(bytes), bytes })
        expect(r.state.kind).toBe("bytes")
      }
      expect(fs.statSync(path.join(dir, "blobs")).mode & 0o077).toBe(0)
    }))

  it.live("refuses a directory that holds another format", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      fs.writeFileSync(path.join(dir, "store.json"), JSON.stringify({ format: "something-else", version: 7 }))
      const exit = yield* Effect.exit(BackupStoreFs.make({ dir }))
      expect(Exit.isFailure(exit) && String(Exit.isFailure(exit) ? exit.cause : "")).toContain("not a homelab-mcp-backups v1 store")
    }))

  it.live("writes to one target are serialised by withTargetLock; other targets run in parallel", () =>
    Effect.gen(function* () {
      const store = yield* BackupStoreFs.makeMemory()
      const events: Array<string> = []
      const op = (descriptor: string, name: string) =>
        store.withTargetLock(
          descriptor,
          Effect.gen(function* () {
            events.push(`${name}:start`)
            yield* Effect.sleep("30 millis")
            events.push(`${name}:end`)
          })
        )
      yield* Effect.all([op("host:/same", "a"), op("host:/same", "b"), op("host:/other", "c")], { concurrency: "unbounded" })
      const a = events.indexOf("a:start")
      expect(events[a + 1]).not.toBe("b:start")
      expect(events.indexOf("b:start")).toBeGreaterThan(events.indexOf("a:end"))
      expect(events.indexOf("c:start")).toBeLessThan(events.indexOf("a:end"))
    }))

  it.live("lockedSince: a section on the target that ends after the mark counts, even one already running when it was taken", () =>
    Effect.gen(function* () {
      const store = yield* BackupStoreFs.makeMemory()
      const release = yield* Deferred.make<void>()
      const running = yield* Effect.fork(store.withTargetLock("host:/same", Deferred.await(release)))
      yield* Effect.yieldNow()
      const mark = yield* store.lockMark
      expect(yield* store.lockedSince("host:/same", mark)).toBe(false)
      yield* store.withTargetLock("host:/other", Effect.void)
      expect(yield* store.lockedSince("host:/same", mark)).toBe(false)
      expect(yield* store.lockedSince("host:/other", mark)).toBe(true)
      yield* Deferred.succeed(release, undefined)
      yield* Fiber.join(running)
      expect(yield* store.lockedSince("host:/same", mark)).toBe(true)
      // a failed section ends too
      const later = yield* store.lockMark
      yield* Effect.exit(store.withTargetLock("host:/same", Effect.fail("boom")))
      expect(yield* store.lockedSince("host:/same", later)).toBe(true)
    }))

  it.live("two store instances on one directory (two processes' worth) never lose a record", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const one = yield* BackupStoreFs.make({ dir })
      const two = yield* BackupStoreFs.make({ dir })
      const writes = Array.from({ length: 20 }, (_, i) =>
        write(i % 2 === 0 ? one : two, Target.host(`/f${i % 4}`), t(`prev ${i}\n`), t(`next ${i}\n`)))
      const results = yield* Effect.all(writes, { concurrency: "unbounded" })
      const usage = yield* one.usage
      expect(usage.versions).toBe(20)
      expect(new Set(results.map((r) => r.record.seq)).size).toBe(20)
      expect(fs.existsSync(path.join(dir, ".lock"))).toBe(false)
      expect(walk(dir).filter((p) => p.startsWith("tmp/"))).toEqual([])
    }))

  it.effect("after a change of its own, newest and the capacity check read one small file instead of the records and the lock", () =>
    Effect.gen(function* () {
      const storage = BackupStoreFs.memoryStorage()
      const calls: Array<string> = []
      const counted: BackupStoreFs.Storage = {
        ...storage,
        read: (rel) => (calls.push(`read ${rel}`), storage.read(rel)),
        list: (rel) => (calls.push(`list ${rel}`), storage.list(rel)),
        createExclusive: (rel, bytes) => (calls.push(`lock ${rel}`), storage.createExclusive(rel, bytes))
      }
      const store = yield* BackupStoreFs.makeWith(counted, {})
      const target = Target.host("/etc/a.conf")
      for (let i = 0; i < 5; i++) yield* write(store, target, t(`v${i}\n`), t(`v${i + 1}\n`))
      calls.length = 0
      const newest = yield* store.newest(target.descriptor)
      expect(newest._tag === "Some" && newest.value.beforeSha256).toBe(sha256(t("v4\n")))
      expect(calls).toEqual(["read generation"])
      calls.length = 0
      const check = yield* store.checkCapacity({ target, previous: { exists: true, bytes: t("v5\n") }, next: t("v6\n"), tool: "write_file", opId: "op" })
      expect(check.kind).toBe("full")
      expect(calls).toEqual(["read generation"])
    }))

  it.live("a second instance's change is seen by newest and the capacity check of the first (two processes' worth)", () =>
    Effect.gen(function* () {
      const dir = tmpDir()
      const one = yield* BackupStoreFs.make({ dir, perFileCap: 2 })
      const two = yield* BackupStoreFs.make({ dir, perFileCap: 2 })
      const target = Target.host("/etc/b.conf")
      yield* write(one, target, t("a\n"), t("b\n"))
      yield* write(one, target, t("b\n"), t("c\n"))
      const before = yield* one.newest(target.descriptor)
      const theirs = yield* write(two, target, t("c\n"), t("d\n"))
      const after = yield* one.newest(target.descriptor)
      expect(before._tag === "Some" && before.value.versionId).not.toBe(theirs.versionId)
      expect(after._tag === "Some" && after.value.versionId).toBe(theirs.versionId)
      // the capacity check of `one` sees that `two` already evicted the oldest version (cap 2)
      const check = yield* one.checkCapacity({ target, previous: { exists: true, bytes: t("d\n") }, next: t("e\n"), tool: "write_file", opId: "op" })
      const versions = yield* one.versions(target.descriptor)
      expect(versions.length).toBe(2)
      expect(check.evict).toEqual([versions[1]!.versionId])
    }))
})
