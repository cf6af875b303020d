/**
 * `revert_file` (tools.md §5, backups-audit.md §3): restores the exact bytes a backup version holds (or
 * deletes the file that version's operation created), after backing up what it overwrites so the revert
 * can itself be reverted. Guarded by the rollback circuit breaker (guardrails.md §6). Audited.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { NotRevertible, WriteVerificationFailed } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import * as WritePlan from "@homelab-mcp/core/backup/WritePlan"
import { BackupStore } from "@homelab-mcp/core/capabilities/BackupStore"
import { Confirm } from "@homelab-mcp/core/capabilities/Confirm"
import { Limits } from "../Limits.js"
import { RollbackBreaker } from "../RollbackBreaker.js"
import * as Backups from "../internal/Backups.js"
import * as WritePipeline from "../internal/WritePipeline.js"
import * as Guests from "../internal/Guests.js"
import * as Targets from "../internal/Targets.js"

/** Input of `revert_file`. */
export const Input = Schema.Struct({
  ...Backups.VersionTargetFields,
  dryRun: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  confirm: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Needed for /etc/pve host targets, and when what the revert overwrites could not be backed up revertibly; must reflect the user's agreement, not the model's"
  }),
  discardOutOfBandChanges: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Revert although the file changed outside this server since its newest backup (those changes are backed up, then overwritten)"
  }),
  overrideCircuitBreaker: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Run although the circuit breaker is open; only after handing back to the human"
  })
})

/** Output of `revert_file` (with dryRun, the diff_config shape plus `action`). */
export const Output = Schema.Struct({
  dryRun: Schema.Boolean,
  target: Schema.String,
  restoredFrom: Schema.String,
  action: Schema.Literal("restored", "deleted", "noop"),
  bytes: Schema.Int,
  newVersionId: Schema.NullOr(Schema.String),
  verified: Schema.Boolean,
  currentSha256: Schema.NullOr(Schema.String),
  restoredSha256: Schema.NullOr(Schema.String),
  restoresAbsence: Schema.Boolean,
  ...WritePipeline.DiffOutputFields,
  changedOutOfBand: Schema.Boolean,
  historyCommitted: Schema.Boolean,
  opId: Schema.NullOr(Schema.String),
  circuitBreakerOverridden: Schema.Boolean,
  /** What the caller should know: evictions or failures in the backup store, an outcome the audit log could not record. */
  warnings: Schema.optional(Schema.Array(Schema.String)),
  // dryRun: the rest of diff_config's shape (tools.md: "dryRun returns the diff_config shape plus action")
  versionId: Schema.optional(Schema.String),
  createdAt: Schema.optional(Schema.String),
  tool: Schema.optional(Schema.String),
  revertible: Schema.optional(Schema.Boolean),
  revertReason: Schema.optional(Schema.String),
  currentExists: Schema.optional(Schema.Boolean)
})

/** Reverts the target to a version's before-state. */
export const revert_file = Tool.make(
  {
    name: "revert_file",
    title: "Revert a file to a backup",
    description:
      "Restores a file written through this server to the exact bytes it had before a backed-up operation (default: the newest revertible version), or deletes the file when that operation created it. What the revert overwrites is backed up first, so the revert can itself be reverted. Refuses when the version cannot be restored (list_backups says why), and when the file changed outside this server since its newest backup unless discardOutOfBandChanges:true (the user's agreement to lose those changes, which are backed up first). Repeated reverts of one file trip a circuit breaker: stop and hand back to the human. dryRun:true returns the diff and changes nothing. Host files (no vmid) need the root tier. Audited.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T T F")
  },
  (input) =>
    Effect.gen(function* () {
      const vmid = yield* Backups.requireGuest(input.vmid, "revert_file")
      const store = yield* BackupStore
      const limits = yield* Limits
      const breaker = yield* RollbackBreaker
      const io = yield* Targets.openForBackups(vmid, input.path, "revert_file")
      const descriptor = io.target.descriptor
      const op1 = yield* Targets.beginFileOp("revert_file", io)
      const overridden = input.dryRun
        ? false
        : yield* breaker.check(descriptor, input.overrideCircuitBreaker).pipe(
            Effect.catchTag("CircuitBreakerOpen", (e) =>
              Guests.refuse({ ...op1, base: { ...op1.base, circuitBreaker: { recentCount: e.recentCount, limit: e.limit, windowMs: e.windowMs, retryAfterMs: e.retryAfterMs } } }, e)
            )
          )
      return yield* store.withTargetLock(
        descriptor,
        Effect.gen(function* () {
          const current = yield* io.readCurrent
          const live = Backups.liveOf(current)
          const restoreLimit = io.restoreLimitBytes
          // without versionId: the newest version this target's transport can write back, as diff_config shows
          const versionId = input.versionId ??
            (restoreLimit === undefined
              ? undefined
              : (yield* Backups.versions({ target: io.target, io, current, live, readError: null })).find((v) => v.revertible)?.record.versionId)
          const restored = yield* store.restore(descriptor, versionId, live)
          const plan = WritePlan.planRevert(current, restored.state, { maxLines: limits.diffMaxLines })
          const base = {
            target: descriptor,
            restoredFrom: restored.record.versionId,
            action: plan.action,
            bytes: plan.restoredBytes?.length ?? 0,
            currentSha256: plan.currentSha256,
            restoredSha256: plan.restoredSha256,
            restoresAbsence: plan.restoresAbsence,
            ...WritePipeline.diffFields(plan.diff),
            changedOutOfBand: restored.changedOutOfBand,
            historyCommitted: false,
            circuitBreakerOverridden: overridden
          }
          if (input.dryRun) {
            // what the revert would refuse, said as diff_config says it
            const refusal = restored.changedOutOfBand && !input.discardOutOfBandChanges && plan.action !== "noop"
              ? "the file changed outside this server since its newest backup; revert_file needs discardOutOfBandChanges:true"
              : restoreLimit !== undefined && plan.restoredBytes !== null && plan.restoredBytes.length > restoreLimit
              ? Backups.overRestoreLimit(plan.restoredBytes.length, restoreLimit)
              : undefined
            return {
              dryRun: true,
              ...base,
              newVersionId: null,
              verified: false,
              opId: null,
              versionId: restored.record.versionId,
              createdAt: restored.record.createdAt,
              tool: restored.record.tool,
              revertible: refusal === undefined,
              ...(refusal !== undefined ? { revertReason: refusal } : {}),
              currentExists: current.exists
            }
          }
          let op = {
            ...op1,
            base: {
              ...op1.base,
              revertedFrom: restored.record.versionId,
              beforeSha256: plan.currentSha256,
              ...(plan.restoredSha256 !== null ? { afterSha256: plan.restoredSha256 } : {}),
              bytes: plan.restoredBytes?.length ?? 0,
              isRevertible: true,
              ...(overridden ? { circuitBreakerOverridden: true } : {})
            }
          }
          if (restored.changedOutOfBand && !input.discardOutOfBandChanges && plan.action !== "noop") {
            return yield* Guests.refuse(
              op,
              new NotRevertible({
                target: descriptor,
                reasons: [
                  `the file changed outside this server since its newest backup (it hashes to ${plan.currentSha256 ?? "nothing: it is gone"}, expected ${restored.expectedLiveSha256 ?? "no file"}); diff_config shows what a revert would overwrite; re-issue with discardOutOfBandChanges:true if the user agrees to lose those changes (they are backed up first)`
                ]
              })
            )
          }
          if (restoreLimit !== undefined && plan.restoredBytes !== null && plan.restoredBytes.length > restoreLimit) {
            return yield* Guests.refuse(
              op,
              new NotRevertible({ target: descriptor, reasons: [Backups.overRestoreLimit(plan.restoredBytes.length, restoreLimit)] })
            )
          }
          if (plan.action === "noop") {
            yield* Guests.auditOutcome(op, { outcome: "noop", note: "the file already has the version's content", durationMs: 0 })
            return { dryRun: false, ...base, newVersionId: null, verified: true, opId: op.opId }
          }
          // What the revert overwrites is backed up first; as for a write, a backup that could not be restored
          // (only hash and size kept, or more than the transport writes back) needs the user's agreement, and
          // a store that refuses to grow refuses the revert before its intent.
          const request = { target: io.target, previous: current, next: plan.restoredBytes, tool: "revert_file", opId: op.opId }
          const capacity = yield* store.checkCapacity(request).pipe(Effect.catchTag("BackupStoreFull", (e) => Guests.refuse(op, e)))
          const unrestorable = WritePlan.notRevertible(capacity.kind, current.exists ? current.bytes : null, store.settings, io.restoreLimitBytes)
          if (unrestorable !== undefined) {
            const confirm = yield* Confirm
            const via = yield* confirm
              .gate(`Reverting ${descriptor} replaces content this server could not restore afterwards: ${unrestorable}.`, input.confirm)
              .pipe(Effect.catchAll((e) => Guests.refuse(op, e)))
            op = { ...op, base: { ...op.base, confirmGated: true, confirmVia: via, isRevertible: false } }
          }
          return yield* Guests.audited(
            op,
            {},
            Effect.gen(function* () {
              yield* breaker.record(descriptor)
              const stored = yield* Guests.withOutcomeOnFailure(op, store.store(request))
              const meta = current.meta ?? metaOf(restored.record) ?? io.newFileMeta
              // The version stored above is settled as a write's is: dropped when the target was left as it
              // was (or the call was cancelled before touching it), kept uncertain when that is not known.
              let touched = false
              let applied = false
              yield* Guests.withOutcomeOnFailure(
                { ...op, base: { ...op.base, versionId: stored.versionId } },
                Effect.gen(function* () {
                  touched = true
                  if (plan.restoredBytes === null) {
                    yield* io.remove
                  } else {
                    const written = yield* io.write(plan.restoredBytes, meta)
                    if (written.sha256 !== plan.restoredSha256) {
                      return yield* new WriteVerificationFailed({ path: io.resolvedPath, expected: plan.restoredSha256 ?? "", actual: written.sha256 })
                    }
                  }
                  applied = true
                }).pipe(Effect.tapError(WritePipeline.settleVersion(store, descriptor, stored.versionId)))
              ).pipe(
                Effect.onInterrupt(() =>
                  applied
                    ? Effect.void
                    : Effect.ignore(touched ? store.markUncertain(descriptor, stored.versionId) : store.remove(descriptor, stored.versionId))
                )
              )
              const durationMs = yield* Guests.elapsed(op)
              const warnings = yield* WritePipeline.auditStoredOutcome(op, stored, durationMs, stored.warnings)
              return {
                dryRun: false,
                ...base,
                newVersionId: stored.versionId,
                verified: true,
                opId: op.opId,
                ...(warnings.length > 0 ? { warnings: [...warnings] } : {})
              }
            })
          )
        })
      )
    }).pipe(Targets.auditRefusals("revert_file", { vmid: input.vmid, kind: "guest", path: input.path, dryRun: input.dryRun }))
)

/** Mode and owner a version recorded for the state it restores. */
const metaOf = (record: { readonly beforeMode: number | null; readonly beforeUid: number | null; readonly beforeGid: number | null }): Targets.FileMeta | null =>
  record.beforeMode === null || record.beforeUid === null || record.beforeGid === null
    ? null
    : { mode: record.beforeMode.toString(8).padStart(3, "0"), uid: record.beforeUid, gid: record.beforeGid }
