/**
 * The write pipeline's intent record and backup run side by side (ADR 0098): the guest is written only
 * when both are durable; a failed intent drops the stored version and leaves the guest untouched; a
 * failed backup is audited as the outcome after its intent.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Fiber from "effect/Fiber"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createHash } from "node:crypto"
import * as Target from "@homelab-mcp/core/backup/Target"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { Internal } from "@homelab-mcp/core/Errors"
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import { Confirm, flagOnly } from "@homelab-mcp/core/capabilities/Confirm"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import * as BackupStoreFs from "@homelab-mcp/transport/BackupStoreFs"
import * as Limits from "../src/Limits.js"
import type { TargetIo } from "../src/internal/Targets.js"
import * as WritePipeline from "../src/internal/WritePipeline.js"

const utf8 = (s: string) => new TextEncoder().encode(s)

/** A container file holding `old`, whose writes are logged instead of reaching a guest. */
const fakeTarget = (old: string) => {
  const writes: Array<string> = []
  const previous = { exists: true as const, bytes: utf8(old), mode: 0o644, uid: 0, gid: 0, meta: { mode: "644", uid: 0, gid: 0 } }
  const io: TargetIo = {
    target: Target.pct(100, "/etc/app.conf"),
    vmid: 100,
    guestType: "lxc",
    path: "/etc/app.conf",
    resolvedPath: "/etc/app.conf",
    readCurrent: Effect.succeed(previous),
    prefetched: previous,
    write: (content) =>
      Effect.sync(() => {
        const text = new TextDecoder().decode(content)
        writes.push(text)
        return { sha256: createHash("sha256").update(content).digest("hex") }
      }),
    remove: Effect.void,
    newFileMeta: null
  }
  return { io, writes }
}

const run = (
  io: TargetIo,
  next: string,
  audit: { readonly failAppend?: (e: { readonly phase: string }) => boolean },
  prepare?: (store: BackupStore.Service) => Effect.Effect<BackupStore.Service, unknown>
) =>
  Effect.gen(function* () {
    const log = yield* AuditLogJsonl.makeMemory(audit.failAppend !== undefined ? { failAppend: audit.failAppend } : {})
    const memory = yield* BackupStoreFs.makeMemory()
    const store = prepare === undefined ? memory : yield* prepare(memory)
    const exit = yield* WritePipeline.run("pct_write_file", io, utf8(next), { dryRun: false, confirm: false }).pipe(
      Effect.provide(Layer.mergeAll(Layer.succeed(BackupStore, store), Layer.succeed(Confirm, flagOnly), Limits.layer())),
      Effect.provideService(AuditLog, log.service),
      Effect.exit
    )
    const versions = yield* store.versions(io.target.descriptor)
    const restored = (versionId: string) =>
      Effect.map(store.restore(io.target.descriptor, versionId, { status: "unknown", reason: "test" }), (r) =>
        r.state.kind === "bytes" ? new TextDecoder().decode(r.state.bytes) : null)
    return { exit, versions, restored, records: log.records().map((r) => `${r.phase}${r.outcome !== undefined ? `:${r.outcome}` : ""}`) }
  })

describe("WritePipeline: intent and backup side by side", () => {
  it.effect("a write stores its version, audits intent then outcome, and writes the guest once", () =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const r = yield* run(io, "a = 2\n", {})
      expect(r.exit._tag).toBe("Success")
      expect(writes).toEqual(["a = 2\n"])
      expect(r.versions.length).toBe(1)
      expect(r.records).toEqual(["intent", "outcome:ok"])
    }))

  it.effect("an outcome record that cannot be written leaves the write done and says so in its warnings", () =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const r = yield* run(io, "a = 2\n", { failAppend: (e) => e.phase === "outcome" })
      expect(writes).toEqual(["a = 2\n"])
      expect(r.versions.length).toBe(1)
      expect(r.records).toEqual(["intent"])
      expect(r.exit._tag).toBe("Success")
      if (r.exit._tag === "Success") {
        expect(r.exit.value.warnings).toEqual([expect.stringContaining("could not record this operation's outcome")])
      }
    }))

  it.effect("a failed intent record leaves the guest untouched and drops the version stored beside it", () =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const r = yield* run(io, "a = 2\n", { failAppend: (e) => e.phase === "intent" })
      expect(r.exit._tag).toBe("Failure")
      if (r.exit._tag === "Failure") expect(String(r.exit.cause)).toContain("AuditUnavailable")
      expect(writes).toEqual([])
      expect(r.versions).toEqual([])
      expect(r.records).toEqual([])
    }))

  it.effect("a backup that cannot be stored is audited as a failed outcome after its intent, and nothing is written", () =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const failing = Effect.gen(function* () {
        const log = yield* AuditLogJsonl.makeMemory()
        const store = yield* BackupStoreFs.makeMemory()
        const broken: BackupStore.Service = { ...store, store: (request) => Effect.fail(new Internal({ opId: request.opId, detail: "disk gone" })) }
        const exit = yield* WritePipeline.run("pct_write_file", io, utf8("a = 2\n"), { dryRun: false, confirm: false }).pipe(
          Effect.provide(Layer.mergeAll(Layer.succeed(BackupStore, broken), Layer.succeed(Confirm, flagOnly), Limits.layer())),
          Effect.provideService(AuditLog, log.service),
          Effect.exit
        )
        return { exit, records: log.records().map((rec) => `${rec.phase}${rec.outcome !== undefined ? `:${rec.outcome}` : ""}`), newest: yield* store.newest(io.target.descriptor) }
      })
      const r = yield* failing
      expect(r.exit._tag).toBe("Failure")
      expect(writes).toEqual([])
      expect(Option.isNone(r.newest)).toBe(true)
      expect(r.records).toEqual(["intent", "outcome:failed"])
    }))

  it.live("the intent record is not waited for before the backup starts (each waits for the other here)", () =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const log = yield* AuditLogJsonl.makeMemory()
      const store = yield* BackupStoreFs.makeMemory()
      const backupStarted = yield* Deferred.make<void>()
      const audit: AuditLog.Service = {
        ...log.service,
        append: (entry) => entry.phase === "intent" ? Effect.zipRight(Deferred.await(backupStarted), log.service.append(entry)) : log.service.append(entry)
      }
      const waiting: BackupStore.Service = { ...store, store: (request) => Effect.zipRight(Deferred.succeed(backupStarted, undefined), store.store(request)) }
      const exit = yield* WritePipeline.run("pct_write_file", io, utf8("a = 2\n"), { dryRun: false, confirm: false }).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(BackupStore, waiting), Layer.succeed(Confirm, flagOnly), Limits.layer())),
        Effect.provideService(AuditLog, audit),
        Effect.timeout("5 seconds"),
        Effect.exit
      )
      expect(exit._tag).toBe("Success")
      expect(writes).toEqual(["a = 2\n"])
    }))
})

/** A text of `lines` lines, each naming `tag` (every line differs between two tags). */
const bigText = (tag: string, lines = 6000) => Array.from({ length: lines }, (_, i) => `${tag}_${i} = ${(i * 7919) % 1000}\n`).join("")

describe("WritePipeline: the previous content compressed off the main thread", () => {
  it.effect("a large previous content read while opening is stored byte for byte", () =>
    Effect.gen(function* () {
      const old = bigText("old")
      expect(old.length).toBeGreaterThan(WritePipeline.OFF_THREAD_GZIP_BYTES)
      const { io, writes } = fakeTarget(old)
      const r = yield* run(io, bigText("new"), {})
      expect(r.exit._tag).toBe("Success")
      expect(writes.length).toBe(1)
      expect(r.versions.map((v) => v.kind)).toEqual(["full"])
      expect(yield* r.restored(r.versions[0]!.versionId)).toBe(old)
    }))

  it.effect("when the content is read again under the lock, the backup is of what was read then", () =>
    Effect.gen(function* () {
      const atOpen = bigText("open")
      const underLock = bigText("lock")
      const { io } = fakeTarget(atOpen)
      const reread = { exists: true as const, bytes: utf8(underLock), mode: 0o644, uid: 0, gid: 0, meta: { mode: "644", uid: 0, gid: 0 } }
      // A version stored by another write between the open and the lock: the content read while opening is stale.
      let calls = 0
      const r = yield* run({ ...io, readCurrent: Effect.succeed(reread) }, bigText("new"), {}, (store) =>
        Effect.as(
          store.store({ target: io.target, previous: { exists: false }, next: utf8(underLock), tool: "pct_write_file", opId: "earlier" }),
          { ...store, newest: (d: string) => (calls++ === 0 ? Effect.succeed(Option.none()) : store.newest(d)) }
        ))
      expect(r.exit._tag).toBe("Success")
      const mine = r.versions.find((v) => v.opId !== "earlier")!
      expect(mine.kind).toBe("full")
      expect(yield* r.restored(mine.versionId)).toBe(underLock)
    }))
})

describe("WritePipeline: a cancelled write", () => {
  /** Runs a write whose intent append waits for `gate`, or whose guest write never ends; returns the fiber. */
  const start = (options: { readonly holdIntent?: Deferred.Deferred<void>; readonly holdOutcome?: Deferred.Deferred<void>; readonly hangWrite?: boolean }) =>
    Effect.gen(function* () {
      const { io, writes } = fakeTarget("a = 1\n")
      const log = yield* AuditLogJsonl.makeMemory()
      const store = yield* BackupStoreFs.makeMemory()
      const intentStarted = yield* Deferred.make<void>()
      const writeStarted = yield* Deferred.make<void>()
      const outcomeStarted = yield* Deferred.make<void>()
      const audit: AuditLog.Service = {
        ...log.service,
        append: (entry) =>
          entry.phase === "intent" && options.holdIntent !== undefined
            ? Effect.zipRight(Effect.zipRight(Deferred.succeed(intentStarted, undefined), Deferred.await(options.holdIntent)), log.service.append(entry))
            : entry.phase === "outcome" && options.holdOutcome !== undefined
            ? Effect.zipRight(Effect.zipRight(Deferred.succeed(outcomeStarted, undefined), Deferred.await(options.holdOutcome)), log.service.append(entry))
            : log.service.append(entry)
      }
      const target: TargetIo = options.hangWrite === true ? { ...io, write: () => Effect.zipRight(Deferred.succeed(writeStarted, undefined), Effect.never) } : io
      const fiber = yield* WritePipeline.run("pct_write_file", target, utf8("a = 2\n"), { dryRun: false, confirm: false }).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(BackupStore, store), Layer.succeed(Confirm, flagOnly), Limits.layer())),
        Effect.provideService(AuditLog, audit),
        Effect.fork
      )
      const records = () => log.records().map((rec) => `${rec.phase}${rec.outcome !== undefined ? `:${rec.outcome}` : ""}`)
      return { fiber, writes, store, io, records, intentStarted, writeStarted, outcomeStarted, log }
    })

  it.live("cancelled while its intent is being written: the intent gets a failed outcome and the version goes", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const w = yield* start({ holdIntent: gate })
      yield* Deferred.await(w.intentStarted)
      // the cancellation arrives mid-bookkeeping; the previous build left the intent without an outcome
      // and the stored version behind
      const interrupted = yield* Effect.fork(Fiber.interrupt(w.fiber))
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupted)
      expect(w.records()).toEqual(["intent", "outcome:failed"])
      expect(w.log.records().at(-1)).toMatchObject({ note: "cancelled before the guest was touched", error: { code: "Cancelled" } })
      expect(w.writes).toEqual([])
      expect(yield* w.store.versions(w.io.target.descriptor)).toEqual([])
    }))

  it.live("cancelled during the guest write: the outcome is unknown and the version kept, marked uncertain", () =>
    Effect.gen(function* () {
      const w = yield* start({ hangWrite: true })
      yield* Deferred.await(w.writeStarted)
      yield* Fiber.interrupt(w.fiber)
      expect(w.records()).toEqual(["intent", "outcome:unknown"])
      const versions = yield* w.store.versions(w.io.target.descriptor)
      expect(versions.map((v) => v.uncertain)).toEqual([true])
    }))

  it.live("cancelled once the new content is verified: the write happened, its outcome is ok and its version certain", () =>
    Effect.gen(function* () {
      const gate = yield* Deferred.make<void>()
      const w = yield* start({ holdOutcome: gate })
      yield* Deferred.await(w.outcomeStarted)
      const interrupting = yield* Effect.fork(Fiber.interrupt(w.fiber))
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      expect(w.writes).toEqual(["a = 2\n"])
      expect(w.records()).toEqual(["intent", "outcome:ok"])
      const versions = yield* w.store.versions(w.io.target.descriptor)
      expect(versions.map((v) => v.uncertain)).toEqual([false])
    }))
})

describe("WritePipeline: the state read while opening", () => {
  const state = (text: string) => ({ exists: true as const, bytes: utf8(text), mode: 0o644, uid: 0, gid: 0, meta: { mode: "644", uid: 0, gid: 0 } })
  /** A target whose state read while opening held `prefetched` and holds `now` when read again. */
  const raced = (prefetched: string, now: string) => {
    const { io, writes } = fakeTarget(now)
    let reads = 0
    const target: TargetIo = { ...io, prefetched: state(prefetched), readCurrent: Effect.sync(() => (reads++, state(now))) }
    return { io: target, writes, reads: () => reads }
  }
  /** Runs the pipeline with `prefetchedAfter` (when given); `between` runs after the mark is taken. */
  const write = (io: TargetIo, next: string, options: { readonly mark: boolean; readonly between?: (store: BackupStore.Service) => Effect.Effect<void> }) =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory()
      const store = yield* BackupStoreFs.makeMemory()
      const mark = yield* store.lockMark
      if (options.between !== undefined) yield* options.between(store)
      const result = yield* WritePipeline.run("pct_write_file", io, utf8(next), { dryRun: false, confirm: false, ...(options.mark ? { prefetchedAfter: mark } : {}) }).pipe(
        Effect.provide(Layer.mergeAll(Layer.succeed(BackupStore, store), Layer.succeed(Confirm, flagOnly), Limits.layer())),
        Effect.provideService(AuditLog, log.service)
      )
      const backedUp = yield* Effect.map(
        store.restore(io.target.descriptor, result.versionId!, { status: "unknown", reason: "test" }),
        (r) => (r.state.kind === "bytes" ? new TextDecoder().decode(r.state.bytes) : null)
      )
      return { result, backedUp }
    })

  it.effect("is what gets backed up when no write of this server to the target ended since the mark taken before it", () =>
    Effect.gen(function* () {
      const t = raced("a = 1\n", "a = 1\n")
      const r = yield* write(t.io, "a = 2\n", { mark: true, between: (store) => store.withTargetLock(Target.pct(100, "/etc/other.conf").descriptor, Effect.void) })
      expect(t.reads()).toBe(0)
      expect(r.backedUp).toBe("a = 1\n")
      expect(t.writes).toEqual(["a = 2\n"])
    }))

  it.effect("is read again when a write to the target ended after the mark (it raced the read): the backup holds what is there now", () =>
    Effect.gen(function* () {
      // another call of this server wrote "a = raced" after this call's read began, and finished before its lock
      const t = raced("a = 1\n", "a = raced\n")
      const r = yield* write(t.io, "a = 2\n", { mark: true, between: (store) => store.withTargetLock(t.io.target.descriptor, Effect.void) })
      expect(t.reads()).toBe(1)
      expect(r.backedUp).toBe("a = raced\n")
      expect(r.result).toMatchObject({ prevSha256: createHash("sha256").update("a = raced\n").digest("hex") })
    }))

  it.effect("is read again when the caller took no mark", () =>
    Effect.gen(function* () {
      const t = raced("a = 1\n", "a = now\n")
      const r = yield* write(t.io, "a = 2\n", { mark: false })
      expect(t.reads()).toBe(1)
      expect(r.backedUp).toBe("a = now\n")
    }))
})
