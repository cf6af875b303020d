/**
 * `Guests.audited`: an audited operation's intent and outcome are never split by a cancellation. An intent
 * without an outcome means only that the process died (backups-audit.md §5 "Phases").
 */
import { describe, expect, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { CommandFailed, SshChannelClosed, SshTimeout } from "@homelab-mcp/core/Errors"
import * as AuditLogJsonl from "@homelab-mcp/transport/AuditLogJsonl"
import * as Guests from "../src/internal/Guests.js"

const phases = (log: AuditLogJsonl.MemoryLog) => log.records().map((r) => `${r.phase}${r.outcome !== undefined ? `:${r.outcome}` : ""}`)

/** A memory log whose intent appends wait for `gate` (after signalling `started`). */
const slowIntent = (log: AuditLogJsonl.MemoryLog, started: Deferred.Deferred<void>, gate: Deferred.Deferred<void>): AuditLog.Service => ({
  ...log.service,
  append: (entry) =>
    entry.phase === "intent"
      ? Effect.zipRight(Effect.zipRight(Deferred.succeed(started, undefined), Deferred.await(gate)), log.service.append(entry))
      : log.service.append(entry)
})

describe("Guests.audited", () => {
  it.live("a cancellation during the intent append waits for it, then records the unknown outcome; the body never runs", () =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory()
      const started = yield* Deferred.make<void>()
      const gate = yield* Deferred.make<void>()
      const op = yield* Guests.beginOp("guest_start", 101)
      let ran = false
      const fiber = yield* Guests.audited(op, { note: "start" }, Effect.sync(() => (ran = true))).pipe(
        Effect.provideService(AuditLog, slowIntent(log, started, gate)),
        Effect.fork
      )
      yield* Deferred.await(started)
      const interrupting = yield* Effect.fork(Fiber.interrupt(fiber))
      yield* Effect.sleep("20 millis")
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(interrupting)
      expect(phases(log)).toEqual(["intent", "outcome:unknown"])
      expect(ran).toBe(false)
    }))

  it.live("a cancelled body gets one unknown outcome, even when its own handler wrote one first", () =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory()
      const op = yield* Guests.beginOp("pct_exec", 100)
      const inside = yield* Deferred.make<void>()
      const body = Guests.withOutcomeOnFailure(op, Effect.zipRight(Deferred.succeed(inside, undefined), Effect.never))
      const fiber = yield* Guests.audited(op, {}, body).pipe(Effect.provideService(AuditLog, log.service), Effect.fork)
      yield* Deferred.await(inside)
      yield* Fiber.interrupt(fiber)
      expect(phases(log)).toEqual(["intent", "outcome:unknown"])
    }))

  it.live("a body that recorded its outcome is not given a second one when cancelled afterwards", () =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory()
      const op = yield* Guests.beginOp("guest_stop", 101)
      const recorded = yield* Deferred.make<void>()
      const body = Effect.zipRight(Guests.auditOutcome(op, { outcome: "ok", durationMs: 1 }), Effect.zipRight(Deferred.succeed(recorded, undefined), Effect.never))
      const fiber = yield* Guests.audited(op, {}, body).pipe(Effect.provideService(AuditLog, log.service), Effect.fork)
      yield* Deferred.await(recorded)
      yield* Fiber.interrupt(fiber)
      expect(phases(log)).toEqual(["intent", "outcome:ok"])
    }))

  it.live("an intent that cannot be written fails the operation before its body", () =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory({ failAppend: (e) => e.phase === "intent" })
      const op = yield* Guests.beginOp("guest_start", 101)
      let ran = false
      const exit = yield* Guests.audited(op, {}, Effect.sync(() => (ran = true))).pipe(Effect.provideService(AuditLog, log.service), Effect.exit)
      expect(exit._tag).toBe("Failure")
      expect(ran).toBe(false)
      expect(phases(log)).toEqual([])
    }))
})

describe("Guests.auditOutcome", () => {
  it.effect("returns null once the outcome is written, else the warning the result must carry (the tool still returns)", () =>
    Effect.gen(function* () {
      const ok = yield* AuditLogJsonl.makeMemory()
      const failing = yield* AuditLogJsonl.makeMemory({ failAppend: (e) => e.phase === "outcome" })
      const op = yield* Guests.beginOp("guest_start", 101)
      expect(yield* Guests.auditOutcome(op, { outcome: "ok", durationMs: 1 }).pipe(Effect.provideService(AuditLog, ok.service))).toBeNull()
      const warning = yield* Guests.auditOutcome(op, { outcome: "ok", durationMs: 1 }).pipe(Effect.provideService(AuditLog, failing.service))
      expect(warning).toMatch(/^the audit log could not record this operation's outcome \(.+\); it shows the operation as pending$/)
      expect(warning).not.toContain("nothing was changed")
      expect(phases(ok)).toEqual(["outcome:ok"])
      expect(phases(failing)).toEqual([])
    }))
})

describe("Guests.withOutcomeOnFailure", () => {
  it.effect("a failure after which the node's state is not known is an unknown outcome; any other failed", () =>
    Effect.gen(function* () {
      const log = yield* AuditLogJsonl.makeMemory()
      for (const error of [
        new SshChannelClosed({ what: "exec pct" }),
        new SshTimeout({ what: "exec pct", timeoutMs: 1000 }),
        new CommandFailed({ command: "pct push", exitCode: 1, stderr: "no space" })
      ]) {
        const op = yield* Guests.beginOp("pct_exec", 100)
        yield* Effect.flip(Guests.withOutcomeOnFailure(op, Effect.fail(error)).pipe(Effect.provideService(AuditLog, log.service)))
      }
      expect(phases(log)).toEqual(["outcome:unknown", "outcome:unknown", "outcome:failed"])
    }))
})
