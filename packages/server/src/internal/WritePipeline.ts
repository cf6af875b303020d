/**
 * The write pipeline of the guest write tools (backups-audit.md §2): validate, open the target, then under
 * the target's lock read the current state once, plan (no-op, backup kind, revertibility, large change,
 * diff; dryRun returns here), gate (confirm when the backup would not be revertible), check capacity,
 * audit the intent and store the backup side by side, write, verify, audit the outcome. A write that cannot be backed
 * up does not happen; a failed write removes its version, an unknown outcome marks it uncertain.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Schema from "effect/Schema"
import { ContentTooLarge, InvalidInput, WriteVerificationFailed, type ToolError } from "@homelab-mcp/core/Errors"
import * as Policy from "@homelab-mcp/core/backup/Policy"
import * as WritePlan from "@homelab-mcp/core/backup/WritePlan"
import type * as UnifiedDiff from "@homelab-mcp/core/diff/UnifiedDiff"
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import type { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { Confirm } from "@homelab-mcp/core/capabilities/Confirm"
import { Limits } from "../Limits.js"
import * as FilePaths from "./FilePaths.js"
import * as Guests from "./Guests.js"
import * as Targets from "./Targets.js"

/** The `content` parameter. */
export const Content = Schema.String.annotations({
  description: "The whole new file content, as text (encoding utf8) or base64 (encoding base64)"
})

/** The `encoding` parameter of writes: how `content` is encoded. */
export const Encoding = Schema.Literal("utf8", "base64")

/** The input of the guest write tools. */
export const Input = Schema.Struct({
  vmid: Guests.Vmid,
  path: FilePaths.PathParam,
  content: Content,
  encoding: Schema.optionalWith(Encoding, { default: () => "utf8" as const }),
  dryRun: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Return the diff and what would happen; changes nothing"
  }),
  confirm: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Needed only when the backup would not be revertible; must reflect the user's agreement, not the model's"
  })
})

/** The diff fields every write, revert and preview result carries (backups-audit.md §4). */
export const DiffOutputFields = {
  diff: Schema.NullOr(Schema.String),
  diffTruncated: Schema.Boolean,
  diffOmitted: Schema.optional(Schema.String),
  addedLines: Schema.Int,
  removedLines: Schema.Int,
  binary: Schema.Boolean
} as const

/** The write result (tools.md §1 "Write result") or, with `dryRun:true`, the dryRun shape. */
export const Output = Schema.Struct({
  dryRun: Schema.Boolean,
  path: Schema.String,
  resolvedPath: Schema.optional(Schema.String),
  vmid: Schema.Int,
  newFile: Schema.Boolean,
  unchanged: Schema.Boolean,
  isLargeChange: Schema.Boolean,
  largeChangeReasons: Schema.Array(Schema.String),
  ...DiffOutputFields,
  // write result only
  bytes: Schema.optional(Schema.Int),
  prevSha256: Schema.optional(Schema.NullOr(Schema.String)),
  newSha256: Schema.optional(Schema.String),
  versionId: Schema.optional(Schema.NullOr(Schema.String)),
  revertible: Schema.optional(Schema.Boolean),
  verified: Schema.optional(Schema.Boolean),
  historyCommitted: Schema.optional(Schema.Boolean),
  opId: Schema.optional(Schema.String),
  warnings: Schema.optional(Schema.Array(Schema.String)),
  mode: Schema.optional(Schema.String),
  uid: Schema.optional(Schema.Int),
  gid: Schema.optional(Schema.Int),
  // dryRun only
  prevBytes: Schema.optional(Schema.Int),
  newBytes: Schema.optional(Schema.Int),
  backupKind: Schema.optional(Schema.NullOr(Schema.String)),
  wouldBeRevertible: Schema.optional(Schema.Boolean),
  needsConfirm: Schema.optional(Schema.Boolean)
})

/** The output type. */
export type Output = typeof Output.Type

/** The diff fields of a write, revert or preview result. */
export const diffFields = (d: UnifiedDiff.DiffResult) => ({
  binary: d.binary,
  diff: d.diff,
  diffTruncated: d.diffTruncated,
  ...(d.diffOmitted !== undefined ? { diffOmitted: d.diffOmitted } : {}),
  addedLines: d.addedLines,
  removedLines: d.removedLines
})

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Decodes `content` per `encoding`; bad base64 is `InvalidInput` naming the key. */
export const decodeContent = (content: string, encoding: "utf8" | "base64"): Effect.Effect<Uint8Array, InvalidInput> => {
  if (encoding === "utf8") return Effect.succeed(new TextEncoder().encode(content))
  const compact = content.replace(/\s+/g, "")
  return BASE64.test(compact)
    ? Effect.succeed(new Uint8Array(Buffer.from(compact, "base64")))
    : Effect.fail(new InvalidInput({ reason: "content is not valid base64 (encoding: base64).", key: "content" }))
}

/** Fails with `ContentTooLarge` when the decoded content is over `limit`. */
export const checkSize = (bytes: Uint8Array, limit: number, advice?: string) =>
  bytes.length > limit
    ? Effect.fail(new ContentTooLarge({ bytes: bytes.length, limit, ...(advice !== undefined ? { advice } : {}) }))
    : Effect.void

/**
 * Audits the `ok` outcome of a change made after its backup was stored (a write or a revert) and returns the
 * warnings its result carries: `warnings`, plus the audit log's own when it could not take the record.
 */
export const auditStoredOutcome = (
  op: Guests.OpContext,
  stored: { readonly versionId: string; readonly evicted: ReadonlyArray<string> },
  durationMs: number,
  warnings: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<string>, never, AuditLog> =>
  Effect.map(
    Guests.auditOutcome(op, {
      outcome: "ok",
      versionId: stored.versionId,
      durationMs,
      historyCommitted: false,
      ...(stored.evicted.length > 0 ? { evicted: [...stored.evicted] } : {}),
      ...(warnings.length > 0 ? { warnings: [...warnings] } : {})
    }),
    (unlogged) => (unlogged === null ? warnings : [...warnings, unlogged])
  )

/** Below this size the previous content is compressed in line: the thread pool's round trip costs more. */
export const OFF_THREAD_GZIP_BYTES = 64 * 1024

/** True when a previous content of `bytes` is worth compressing off the main thread: big, and backed up whole. */
const compressOffThread = (bytes: number, settings: Policy.BackupSettings) =>
  bytes >= OFF_THREAD_GZIP_BYTES && (bytes <= settings.largeFileBytes || settings.largeFilePolicy === "full")


/**
 * What a failed guest change means for the version stored before it (backups-audit.md §1): a change that
 * left the target as it was drops the version; one whose outcome is unknown (timeout, dropped connection)
 * keeps it marked uncertain; a verification failure (the change happened) keeps it as it is.
 */
export const settleVersion = (store: BackupStore.Service, descriptor: string, versionId: string) => (e: ToolError) =>
  e._tag === "WriteVerificationFailed"
    ? Effect.void
    : Guests.isUnknownOutcome(e)
    ? Effect.ignore(store.markUncertain(descriptor, versionId))
    : Effect.ignore(store.remove(descriptor, versionId))

/**
 * Runs the pipeline on an opened target with the decoded content. The state read while opening
 * (`io.prefetched`) is used only with `prefetchedAfter`, the store's `lockMark` taken before that read, and
 * only if no locked section on the target (a write or revert of this server) ended since.
 */
export const run = (
  tool: string,
  io: Targets.TargetIo,
  content: Uint8Array,
  flags: { readonly dryRun: boolean; readonly confirm: boolean; readonly prefetchedAfter?: number }
): Effect.Effect<Output, ToolError, BackupStore | AuditLog | Confirm | Limits> =>
  Effect.gen(function* () {
    const store = yield* BackupStore
    const limits = yield* Limits
    const descriptor = io.target.descriptor
    // The content read while opening is compressed on the thread pool while the lock is taken and the diff
    // computed here; it is used only if that content is the one planned against.
    const prefetched = io.prefetched
    const compressing = prefetched !== null && flags.prefetchedAfter !== undefined && prefetched.exists && compressOffThread(prefetched.bytes.length, store.settings)
      ? yield* Effect.fork(Policy.fullPayloadOffThread(prefetched.bytes))
      : null
    return yield* store.withTargetLock(
      descriptor,
      Effect.gen(function* () {
        // The state read while opening is the state now unless a write of this server ended since it began.
        const fresh = prefetched !== null && flags.prefetchedAfter !== undefined && !(yield* store.lockedSince(descriptor, flags.prefetchedAfter))
        const [newest, current] = yield* Effect.all([store.newest(descriptor), fresh ? Effect.succeed(prefetched) : io.readCurrent], {
          concurrency: 2
        })
        const draft = WritePlan.draft({
          previous: current,
          next: content,
          settings: store.settings,
          newest: newest._tag === "Some" ? newest.value : null,
          diff: { maxLines: limits.diffMaxLines },
          ...(io.restoreLimitBytes !== undefined ? { restoreLimitBytes: io.restoreLimitBytes } : {})
        })
        const full = compressing !== null && current === prefetched && !draft.unchanged ? yield* Fiber.join(compressing) : undefined
        const plan = WritePlan.decide(draft, full)
        const common = {
          path: io.path,
          ...(io.resolvedPath !== io.path ? { resolvedPath: io.resolvedPath } : {}),
          vmid: io.vmid,
          newFile: plan.newFile,
          unchanged: plan.unchanged,
          isLargeChange: plan.isLargeChange,
          largeChangeReasons: [...plan.largeChangeReasons],
          ...diffFields(plan.diff)
        }
        if (flags.dryRun) {
          return {
            dryRun: true,
            ...common,
            prevBytes: plan.prevBytes,
            newBytes: plan.newBytes,
            backupKind: plan.backupKind,
            wouldBeRevertible: plan.wouldBeRevertible,
            needsConfirm: plan.needsConfirm
          }
        }
        const meta = current.meta ?? io.newFileMeta
        const metaFields = meta === null ? {} : { mode: meta.mode, uid: meta.uid, gid: meta.gid }
        const op0 = yield* Targets.beginFileOp(tool, io)
        const op = {
          ...op0,
          base: {
            ...op0.base,
            beforeSha256: plan.prevSha256,
            afterSha256: plan.newSha256,
            bytes: content.length,
            isLargeChange: plan.isLargeChange,
            largeChangeReasons: [...plan.largeChangeReasons]
          }
        }
        /** The write result (verified: a no-op, or a write whose new content hashed as planned). */
        const written = (versionId: string | null, revertible: boolean, warnings: ReadonlyArray<string>): Output => ({
          dryRun: false,
          ...common,
          bytes: content.length,
          prevSha256: plan.prevSha256,
          newSha256: plan.newSha256,
          versionId,
          revertible,
          verified: true,
          historyCommitted: false,
          opId: op.opId,
          warnings,
          ...metaFields
        })
        if (plan.unchanged) {
          yield* Guests.auditOutcome(op, { outcome: "noop", note: "content identical; nothing written", durationMs: 0 })
          return written(null, true, [])
        }
        let confirmFields = {}
        if (plan.needsConfirm) {
          const confirm = yield* Confirm
          const via = yield* confirm
            .gate(
              `Writing ${io.target.descriptor} replaces content this server could not restore afterwards: ${plan.notRevertibleReason ?? "the backup would not be revertible"}.`,
              flags.confirm
            )
            .pipe(Effect.catchAll((e) => Guests.refuse(op, e)))
          confirmFields = { confirmGated: true, confirmVia: via }
        }
        const opGated = { ...op, base: { ...op.base, ...confirmFields, isRevertible: plan.wouldBeRevertible } }
        const request = { target: io.target, previous: current, next: content, tool, opId: op.opId, decision: plan.decision }
        yield* store.checkCapacity(request).pipe(
          Effect.catchTag("BackupStoreFull", (e) => Guests.refuse(opGated, e))
        )
        // The intent record and the backup are written side by side; the guest is touched only when both are
        // durable. A failed backup gets its outcome record after the intent; a failed intent drops the backup.
        // A cancellation waits for both: an intent never lacks its outcome (unless the process dies) and a
        // version never outlives a write that did not happen.
        return yield* Effect.uninterruptibleMask((restore) =>
          Effect.gen(function* () {
            const [intent, backup] = yield* Effect.all([Effect.either(Guests.audit(opGated, "intent", {})), Effect.either(store.store(request))], {
              concurrency: 2
            })
            if (Either.isLeft(intent)) {
              if (Either.isRight(backup)) yield* Effect.ignore(store.remove(descriptor, backup.right.versionId))
              return yield* Effect.fail(intent.left)
            }
            const stored = yield* Guests.withOutcomeOnFailure(opGated, Either.match(backup, { onLeft: Effect.fail, onRight: Effect.succeed }))
            const opStored = { ...opGated, base: { ...opGated.base, versionId: stored.versionId } }
            let touched = false
            let verified = false
            const finish = Effect.gen(function* () {
              touched = true
              const put = yield* io.write(content, meta).pipe(
                Effect.tapError(settleVersion(store, descriptor, stored.versionId)),
                (eff) => Guests.withOutcomeOnFailure(opStored, eff)
              )
              if (put.sha256 !== plan.newSha256) {
                const err = new WriteVerificationFailed({ path: io.resolvedPath, expected: plan.newSha256, actual: put.sha256 })
                return yield* Guests.withOutcomeOnFailure(opGated, Effect.fail(err))
              }
              verified = true
              const durationMs = yield* Guests.elapsed(op)
              const warnings = [...stored.warnings, ...(plan.newFile && io.newFileMeta === null ? ["the new file got the guest agent's default mode and owner"] : [])]
              const said = yield* auditStoredOutcome(opGated, stored, durationMs, warnings)
              return written(stored.versionId, stored.revertible && plan.wouldBeRevertible, said)
            })
            // Cancelled before the write began: it did not happen, so its version goes and the outcome says
            // so. Cancelled during it: the guest may hold either content, so the version is kept, uncertain.
            // Cancelled once the new content was verified: the write happened, and its outcome says so.
            return yield* restore(finish).pipe(
              Effect.onInterrupt(() =>
                verified
                  ? Effect.void
                  : touched
                  ? Effect.zipRight(Effect.ignore(store.markUncertain(descriptor, stored.versionId)), Guests.auditInterrupted(opStored))
                  : Effect.zipRight(
                    Effect.ignore(store.remove(descriptor, stored.versionId)),
                    Effect.flatMap(Guests.elapsed(op), (durationMs) =>
                      Effect.asVoid(Guests.auditOutcome(opGated, {
                        outcome: "failed",
                        durationMs,
                        note: "cancelled before the guest was touched",
                        error: { code: "Cancelled", message: "The call was cancelled before the guest was touched; nothing was written." }
                      })))
                  )
              )
            )
          })
        )
      })
    )
  })
