import { describe, expect, it } from "@effect/vitest"
import { sha256 } from "@homelab-mcp/core/backup/Hash"
import * as Reconstruct from "@homelab-mcp/core/backup/Reconstruct"
import * as Target from "@homelab-mcp/core/backup/Target"
import type { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import * as BackupStoreFs from "@homelab-mcp/transport/BackupStoreFs"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import { BackupStore as BackupStoreTag } from "@homelab-mcp/core/capabilities/BackupStore"

const t = (s: string) => new Uint8Array(Buffer.from(s, "utf8"))
const str = (b: Uint8Array) => Buffer.from(b).toString("utf8")
const text = (n: number, seed: string) => Array.from({ length: n }, (_, i) => `${i} ${sha256(seed + i)}\n`).join("")

/** A fake node: the live files, and a write that backs up first exactly as the pipeline does. */
const harness = (store: BackupStore.Service) => {
  const live = new Map<string, Uint8Array | null>()
  const liveState = (d: string): Reconstruct.LiveState => {
    const b = live.get(d) ?? null
    return b === null ? { status: "absent" } : { status: "present", sha256: sha256(b), bytes: b }
  }
  const write = (target: Target.Target, next: Uint8Array | null, tool = "write_file") =>
    Effect.gen(function* () {
      const before = live.get(target.descriptor) ?? null
      const result = yield* store.store({
        target,
        previous: before === null ? { exists: false } : { exists: true, bytes: before, mode: 0o644, uid: 0, gid: 0 },
        next,
        tool,
        opId: `op-${Math.random()}`
      })
      live.set(target.descriptor, next)
      return result
    })
  /** revert_file: back up the current state (so the revert can be reverted), then apply. */
  const revert = (target: Target.Target, versionId?: string) =>
    Effect.gen(function* () {
      const restored = yield* store.restore(target.descriptor, versionId, liveState(target.descriptor))
      const next = restored.state.kind === "absent" ? null : restored.state.bytes
      const backup = yield* write(target, next, "revert_file")
      return { restored, backup }
    })
  return { live, liveState, write, revert }
}

const memory = (options: Omit<BackupStoreFs.Options, "dir"> = {}) => BackupStoreFs.makeMemory(options)

describe("BackupStore (in memory)", () => {
  it.effect("missing versus empty: a create stores `absent` with no blob; reverting it deletes the file", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.pct(101, "/etc/new.conf")
      const created = yield* h.write(f, t("hello\n"))
      expect(created).toMatchObject({ kind: "absent", revertible: true, reanchored: false, evicted: [], warnings: [] })
      expect(created.record).toMatchObject({ blob: null, beforeSha256: null, beforeBytes: 0, storedBytes: 0, afterSha256: sha256("hello\n") })
      expect((yield* store.usage).blobs).toBe(0)
      const r = yield* h.revert(f)
      expect(r.restored.state).toEqual({ kind: "absent" })
      expect(h.live.get(f.descriptor)).toBeNull()

      const e = Target.host("/etc/empty")
      h.live.set(e.descriptor, new Uint8Array(0))
      const filled = yield* h.write(e, t("content\n"))
      expect(filled).toMatchObject({ kind: "full", record: { beforeSha256: sha256(""), beforeBytes: 0, beforeMode: 0o644, beforeUid: 0 } })
      const back = yield* store.restore(e.descriptor, undefined, h.liveState(e.descriptor))
      expect(back.state).toMatchObject({ kind: "bytes", sha256: sha256("") })
    }))

  it.effect("dedup A, B, C, B: reverting the last write yields C; X, Y, X then revert yields Y, and the revert is revertible", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.host("/etc/app.conf")
      const base = text(30, "dedup")
      const [A, B, C] = ["A", "B", "C"].map((x) => t(base.replace("0 ", `0 ${x} `)))
      h.live.set(f.descriptor, A!)
      yield* h.write(f, B!)
      yield* h.write(f, C!)
      yield* h.write(f, B!)
      const r = yield* h.revert(f)
      expect(str(h.live.get(f.descriptor)!)).toBe(str(C!))
      expect(r.restored.record.afterSha256).toBe(sha256(B!))

      const g = Target.qm(200, "/etc/x")
      const X = t(text(20, "x"))
      const Y = t(text(20, "y"))
      h.live.set(g.descriptor, Y)
      yield* h.write(g, X)
      yield* h.write(g, Y)
      yield* h.write(g, X)
      yield* h.revert(g)
      expect(str(h.live.get(g.descriptor)!)).toBe(str(Y))
      // the revert backed up X, so reverting the revert brings X back
      yield* h.revert(g)
      expect(str(h.live.get(g.descriptor)!)).toBe(str(X))
      const versions = yield* store.versions(g.descriptor)
      expect(versions.map((v) => v.tool)).toEqual(["revert_file", "revert_file", "write_file", "write_file", "write_file"])
    }))

  it.effect("stale base: an out-of-band edit makes deltas non-revertible with the reason; the next write re-anchors as full", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.pct(101, "/etc/nginx.conf")
      const base = text(40, "nginx")
      h.live.set(f.descriptor, t(base))
      const v1 = yield* h.write(f, t(base.replace("1 ", "1 a")))
      const v2 = yield* h.write(f, t(base.replace("2 ", "2 b")))
      expect([v1.kind, v2.kind]).toEqual(["rdiff", "rdiff"])
      // sed -i through pct_exec
      h.live.set(f.descriptor, t(base.replace("3 ", "3 sed")))
      const listing = yield* store.list(f.descriptor, h.liveState(f.descriptor))
      expect(listing.map((v) => [v.revertible, v.revertReason])).toEqual([
        [false, "changed outside this server after this version"],
        [false, "changed outside this server after this version"]
      ])
      const refused = yield* Effect.flip(store.restore(f.descriptor, undefined, h.liveState(f.descriptor)))
      expect(refused._tag).toBe("NotRevertible")
      expect(refused.message).toContain("changed outside this server after this version")
      const v3 = yield* h.write(f, t(base))
      expect(v3).toMatchObject({ kind: "full", reanchored: true, record: { reanchored: true } })
      const r = yield* h.revert(f, v3.versionId)
      expect(str(r.restored.state.kind === "bytes" ? r.restored.state.bytes : new Uint8Array())).toBe(base.replace("3 ", "3 sed"))
      // an identical rewrite is still a no-op for the caller; the store is never asked (WritePlan.unchanged)
    }))

  it.effect("restore reports an out-of-band change since the last managed write, so revert_file can refuse it", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.host("/etc/resolv.conf")
      h.live.set(f.descriptor, t("nameserver 1.1.1.1\n"))
      const v = yield* h.write(f, t("nameserver 9.9.9.9\n"))
      expect(v.kind).toBe("full")
      const clean = yield* store.restore(f.descriptor, undefined, h.liveState(f.descriptor))
      expect(clean).toMatchObject({ changedOutOfBand: false, expectedLiveSha256: sha256("nameserver 9.9.9.9\n") })
      h.live.set(f.descriptor, t("nameserver 8.8.8.8\n"))
      const drifted = yield* store.restore(f.descriptor, undefined, h.liveState(f.descriptor))
      expect(drifted).toMatchObject({ changedOutOfBand: true, expectedLiveSha256: sha256("nameserver 9.9.9.9\n") })
      expect(drifted.state).toMatchObject({ kind: "bytes", sha256: sha256("nameserver 1.1.1.1\n") })
      const unknown = yield* store.restore(f.descriptor, undefined, { status: "unknown", reason: "timeout" })
      expect(unknown.changedOutOfBand).toBe(true)
      h.live.set(f.descriptor, null)
      expect((yield* store.restore(f.descriptor, undefined, h.liveState(f.descriptor))).changedOutOfBand).toBe(true)
    }))

  it.effect("G7: without versionId the newest revertible version is used, skipping a newer metadata-only one", () =>
    Effect.gen(function* () {
      const store = yield* memory({ largeFileBytes: 100, largeFilePolicy: "metadata-only" })
      const h = harness(store)
      const f = Target.host("/srv/data")
      h.live.set(f.descriptor, t("small\n"))
      const first = yield* h.write(f, t(text(10, "big")))
      const meta = yield* h.write(f, t("small again\n"))
      expect([first.kind, meta.kind, meta.revertible]).toEqual(["full", "metadata-only", false])
      const r = yield* store.restore(f.descriptor, undefined, h.liveState(f.descriptor))
      expect(r.record.versionId).toBe(first.versionId)
      const explicit = yield* Effect.flip(store.restore(f.descriptor, meta.versionId, h.liveState(f.descriptor)))
      expect(explicit).toMatchObject({ _tag: "NotRevertible", reasons: [`${meta.versionId}: ${Reconstruct.METADATA_ONLY_REASON}`] })

      const only = Target.host("/srv/only")
      h.live.set(only.descriptor, t(text(10, "only")))
      const m = yield* h.write(only, t("x\n"))
      const none = yield* Effect.flip(store.restore(only.descriptor, undefined, h.liveState(only.descriptor)))
      expect(none).toMatchObject({ _tag: "NotRevertible", target: only.descriptor, reasons: [`${m.versionId}: ${Reconstruct.METADATA_ONLY_REASON}`] })
    }))

  it.effect("lookups are scoped to the target: NoBackups, VersionNotFound for another target's id", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const a = Target.host("/a")
      const b = Target.host("/b")
      const va = yield* h.write(a, t("a\n"))
      expect((yield* Effect.flip(store.restore(b.descriptor, undefined, { status: "absent" })))._tag).toBe("NoBackups")
      yield* h.write(b, t("b\n"))
      const wrong = yield* Effect.flip(store.restore(b.descriptor, va.versionId, h.liveState(b.descriptor)))
      expect(wrong).toMatchObject({ _tag: "VersionNotFound", target: "host:/b", versionId: va.versionId })
      expect((yield* Effect.flip(store.remove(b.descriptor, va.versionId)))._tag).toBe("VersionNotFound")
      expect(Option.isNone(yield* store.newest("host:/none"))).toBe(true)
    }))

  it.effect("remove drops a failed write's version and its unshared blob; markUncertain keeps it flagged", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.host("/etc/f")
      h.live.set(f.descriptor, t("one\n"))
      const v = yield* h.write(f, t("two\n"))
      expect((yield* store.usage).blobs).toBe(1)
      yield* store.remove(f.descriptor, v.versionId)
      expect(yield* store.versions(f.descriptor)).toEqual([])
      expect(yield* store.usage).toMatchObject({ blobs: 0, versions: 0, targets: 0, usedBytes: 0 })
      h.live.set(f.descriptor, t("one\n"))
      const w = yield* h.write(f, t("two\n"))
      const marked = yield* store.markUncertain(f.descriptor, w.versionId)
      expect(marked.uncertain).toBe(true)
      expect((yield* store.versions(f.descriptor))[0]!.uncertain).toBe(true)
    }))

  it.effect("per-file cap trims the oldest versions of the written file", () =>
    Effect.gen(function* () {
      const store = yield* memory({ perFileCap: 3 })
      const h = harness(store)
      const f = Target.host("/etc/capped")
      const ids: Array<string> = []
      for (let i = 0; i < 6; i++) ids.push((yield* h.write(f, t(`version ${i}\n`))).versionId)
      const kept = (yield* store.versions(f.descriptor)).map((v) => v.versionId)
      expect(kept).toEqual([ids[5], ids[4], ids[3]])
      for (const id of kept) {
        const r = yield* store.restore(f.descriptor, id, h.liveState(f.descriptor))
        expect(r.record.versionId).toBe(id)
      }
    }))

  it.effect("fill the store past its caps: eviction keeps the newest version of every file, oldest evicted first", () =>
    Effect.gen(function* () {
      const store = yield* memory({ globalCapBytes: 12_000, perFileCap: 5 })
      const h = harness(store)
      const files = [0, 1, 2, 3].map((i) => Target.pct(100 + i, `/etc/file${i}`))
      const evicted: Array<string> = []
      const written: Array<{ id: string; descriptor: string; before: Uint8Array | null }> = []
      for (let round = 0; round < 12; round++) {
        for (const f of files) {
          const before = h.live.get(f.descriptor) ?? null
          const r = yield* h.write(f, t(text(8, `${f.descriptor}-${round}`)))
          evicted.push(...r.evicted)
          written.push({ id: r.versionId, descriptor: f.descriptor, before })
          expect(r.warnings).toEqual([])
        }
      }
      const usage = yield* store.usage
      expect(usage.usedBytes).toBeLessThanOrEqual(12_000)
      expect(evicted.length).toBeGreaterThan(0)
      // round-robin writes of equal size: the evicted versions are exactly the oldest ones, in order
      const order = written.map((w) => w.id)
      expect(evicted).toEqual(order.slice(0, evicted.length))
      expect(usage.versions).toBe(order.length - evicted.length)
      for (const f of files) {
        const versions = yield* store.versions(f.descriptor)
        expect(versions[0]!.versionId).toBe([...written].reverse().find((w) => w.descriptor === f.descriptor)!.id)
        for (const v of versions) {
          const r = yield* store.restore(f.descriptor, v.versionId, h.liveState(f.descriptor))
          const expected = written.find((w) => w.id === v.versionId)!.before
          expect(r.state.kind === "bytes" ? str(r.state.bytes) : null).toBe(expected === null ? null : str(expected))
        }
      }
    }))

  it.effect("disk pressure: `warn` stores anyway with a warning; `refuse` fails with BackupStoreFull and writes nothing", () =>
    Effect.gen(function* () {
      const warn = yield* memory({ globalCapBytes: 600 })
      const hw = harness(warn)
      hw.live.set("host:/a", t(text(20, "a")))
      const r = yield* hw.write(Target.host("/a"), t("x\n"))
      expect(r.warnings[0]).toMatch(/over its cap of 600.*MCP_DISK_PRESSURE_POLICY=warn/)
      const check = yield* warn.checkCapacity({ target: Target.host("/b"), previous: { exists: false }, next: t("y"), tool: "t", opId: "o" })
      expect(check.warnings).toHaveLength(1)

      const refuse = yield* memory({ globalCapBytes: 600, diskPressurePolicy: "refuse" })
      const hr = harness(refuse)
      hr.live.set("host:/a", t(text(20, "a")))
      const request = { target: Target.host("/a"), previous: { exists: true as const, bytes: t(text(20, "a")) }, next: t("x\n"), tool: "write_file", opId: "op1" }
      const full = yield* Effect.flip(refuse.checkCapacity(request))
      expect(full).toMatchObject({ _tag: "BackupStoreFull", capBytes: 600 })
      const stored = yield* Effect.flip(refuse.store(request))
      expect(stored._tag).toBe("BackupStoreFull")
      expect(yield* refuse.usage).toMatchObject({ versions: 0, blobs: 0 })
      // small enough: stored
      const ok = yield* refuse.store({ ...request, previous: { exists: false } })
      expect(ok.kind).toBe("absent")
    }))

  it.effect("a deletion (revert of a create) records afterSha256 null and stores the content as full", () =>
    Effect.gen(function* () {
      const store = yield* memory()
      const h = harness(store)
      const f = Target.host("/tmp/created")
      yield* h.write(f, t(text(40, "c")))
      const r = yield* h.revert(f)
      expect(r.backup.record).toMatchObject({ kind: "full", afterSha256: null, afterBytes: 0, tool: "revert_file" })
      yield* h.revert(f)
      expect(str(h.live.get(f.descriptor)!)).toBe(text(40, "c"))
    }))

  it.effect("property: for random writes to a few targets every revertible version restores the bytes before its write", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              target: fc.integer({ min: 0, max: 2 }),
              next: fc.oneof(
                { weight: 1, arbitrary: fc.constant(null) },
                { weight: 6, arbitrary: fc.array(fc.constantFrom("a=1\n", "b=2\r\n", "\n", "c", "\xe9\n"), { maxLength: 25 }).map((l) => t(l.join(""))) },
                { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) }
              ),
              outOfBand: fc.boolean(),
              cap: fc.integer({ min: 2, max: 4 })
            }),
            { minLength: 1, maxLength: 15 }
          ),
          async (steps) => {
            await Effect.runPromise(
              Effect.gen(function* () {
                const store = yield* memory({ perFileCap: steps[0]!.cap, globalCapBytes: 4000 })
                const h = harness(store)
                const targets = [Target.host("/a"), Target.pct(101, "/b"), Target.qm(200, "/c")]
                const truth = new Map<string, Uint8Array | null>()
                for (const s of steps) {
                  const target = targets[s.target]!
                  if (s.outOfBand) {
                    h.live.set(target.descriptor, s.next)
                    continue
                  }
                  const before = h.live.get(target.descriptor) ?? null
                  if (before === null && s.next === null) continue
                  const r = yield* h.write(target, s.next)
                  truth.set(r.versionId, before)
                }
                for (const target of targets) {
                  const listing = yield* store.list(target.descriptor, h.liveState(target.descriptor))
                  // eviction only removes older versions, so with no out-of-band change every kept version stays revertible
                  if (!steps.some((s) => s.outOfBand)) expect(listing.every((v) => v.revertible)).toBe(true)
                  for (const v of listing) {
                    const result = yield* Effect.either(store.restore(target.descriptor, v.record.versionId, h.liveState(target.descriptor)))
                    expect(Either.isRight(result)).toBe(v.revertible)
                    if (Either.isLeft(result)) continue
                    const expected = truth.get(v.record.versionId)!
                    const state = result.right.state
                    if (expected === null) expect(state.kind).toBe("absent")
                    else expect(state.kind === "bytes" && Buffer.compare(state.bytes, expected) === 0).toBe(true)
                  }
                }
              })
            )
          }
        ),
        { numRuns: 100 }
      )
    ))

  it.effect("a backup that cannot be written fails with Internal and leaves no record without its blob", () =>
    Effect.gen(function* () {
      const storage = BackupStoreFs.memoryStorage()
      let failOn: RegExp | null = null
      const flaky: BackupStoreFs.Storage = {
        ...storage,
        writeAtomic: async (rel, bytes) => {
          if (failOn !== null && failOn.test(rel)) throw new Error(`ENOSPC: no space left on device, write '${rel}'`)
          return storage.writeAtomic(rel, bytes)
        }
      }
      const store = yield* BackupStoreFs.makeWith(flaky, {})
      const request = { target: Target.host("/etc/f"), previous: { exists: true as const, bytes: t(text(5, "f")) }, next: t("n\n"), tool: "write_file", opId: "op-9" }
      failOn = /^blobs\//
      const blobFailed = yield* Effect.flip(store.store(request))
      expect(blobFailed).toMatchObject({ _tag: "Internal", opId: "op-9" })
      expect(blobFailed.message).toContain("ENOSPC")
      expect(yield* store.versions("host:/etc/f")).toEqual([])
      failOn = /^targets\/.*\/[0-9A-Z]{26}\.json$/
      const recordFailed = yield* Effect.flip(store.store(request))
      expect(recordFailed._tag).toBe("Internal")
      expect(yield* store.versions("host:/etc/f")).toEqual([])
      // the blob written before the failed record is an orphan; the next start removes it
      expect([...storage.files.keys()].some((k) => k.startsWith("blobs/"))).toBe(true)
      failOn = null
      yield* BackupStoreFs.makeWith(flaky, {})
      expect([...storage.files.keys()].some((k) => k.startsWith("blobs/"))).toBe(false)
    }))

  it.effect("layerConfig reads the documented variables", () =>
    Effect.gen(function* () {
      const provider = ConfigProvider.fromMap(
        new Map([
          ["MCP_BACKUP_DIR", "/tmp/x"],
          ["MCP_LARGE_FILE_BYTES", "2048"],
          ["MCP_LARGE_FILE_POLICY", "metadata-only"],
          ["MCP_BACKUP_PER_FILE_CAP", "4"],
          ["MCP_BACKUP_GLOBAL_CAP_BYTES", "5000"],
          ["MCP_DISK_PRESSURE_POLICY", "refuse"]
        ])
      )
      const options = yield* Effect.withConfigProvider(BackupStoreFs.config, provider)
      expect(options).toEqual({
        dir: "/tmp/x",
        largeFileBytes: 2048,
        largeFilePolicy: "metadata-only",
        perFileCap: 4,
        globalCapBytes: 5000,
        diskPressurePolicy: "refuse"
      })
      const defaults = yield* Effect.withConfigProvider(BackupStoreFs.config, ConfigProvider.fromMap(new Map([["MCP_DATA_DIR", "/data"]])))
      expect(defaults).toMatchObject({ dir: "/data/backups", largeFileBytes: 1048576, largeFilePolicy: "full", perFileCap: 10, globalCapBytes: 104857600, diskPressurePolicy: "warn" })
      const bad = yield* Effect.flip(Effect.withConfigProvider(BackupStoreFs.config, ConfigProvider.fromMap(new Map([["MCP_DISK_PRESSURE_POLICY", "maybe"], ["MCP_DATA_DIR", "/d"]]))))
      expect(String(bad)).toContain('MCP_DISK_PRESSURE_POLICY: "expected one of warn, refuse, got "maybe""')
      const zero = yield* Effect.flip(Effect.withConfigProvider(BackupStoreFs.config, ConfigProvider.fromMap(new Map([["MCP_BACKUP_PER_FILE_CAP", "0"], ["MCP_DATA_DIR", "/d"]]))))
      expect(String(zero)).toContain('MCP_BACKUP_PER_FILE_CAP: "expected an integer 1..100000, got "0""')
      const viaLayer = yield* Effect.provide(BackupStoreTag, BackupStoreFs.layerTest({ perFileCap: 2 }))
      expect(viaLayer.settings.perFileCap).toBe(2)
      expect(Layer.isLayer(BackupStoreFs.layerConfig())).toBe(true)
    }))
})
