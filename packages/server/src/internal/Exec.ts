/**
 * The shared pipeline of the in-guest exec tools (tools.md §5 `pct_exec`, `qm_exec`): classification on
 * a real shell parse before any node contact (deny → `CommandDenied`; confirm → the confirm gate), the
 * guest precheck, an audited intent, the command, and an audited outcome whose exit code, signal and
 * timeout are the transport's truth (never coerced to 0).
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { CommandDenied, GuestNotRunning, InvalidInput, UnsupportedGuestOs, type ToolError } from "@homelab-mcp/core/Errors"
import * as Classify from "@homelab-mcp/core/guardrails/Classify"
import { Confirm, type ConfirmVia } from "@homelab-mcp/core/capabilities/Confirm"
import type { ExecResult } from "@homelab-mcp/core/capabilities/NodeShell"
import type { PveApi } from "@homelab-mcp/core/capabilities/PveApi"
import type { AuditLog } from "@homelab-mcp/core/capabilities/AuditLog"
import { EXEC_TIMEOUT_CEILING_MS, Limits } from "../Limits.js"
import * as Guests from "./Guests.js"

/** The `command` parameter: shell text, 1..65536 characters. */
export const Command = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(65536),
  Schema.annotations({ description: "Shell command text, run as <shell> -c <command> inside the guest" })
)

/** The `timeoutMs` parameter (the upper bound is MCP_EXEC_MAX_TIMEOUT_MS, checked at call time). */
export const TimeoutMs = Schema.Int.pipe(
  Schema.between(1000, EXEC_TIMEOUT_CEILING_MS),
  Schema.annotations({ description: "Budget in ms (1000..MCP_EXEC_MAX_TIMEOUT_MS, default MCP_EXEC_DEFAULT_TIMEOUT_MS = 30000)" })
)

/** The `shell` parameter. */
export const Shell = Schema.Literal("auto", "bash", "sh").annotations({
  description: "auto = bash if the guest has it, else sh"
})

/** The input every exec tool takes. */
export const Input = Schema.Struct({
  vmid: Guests.Vmid,
  command: Command,
  timeoutMs: Schema.optional(TimeoutMs),
  confirm: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Needed for confirm-class commands (reboots, service stops, package removal…); must reflect the user's agreement, not the model's."
  }),
  shell: Schema.optionalWith(Shell, { default: () => "auto" as const })
})

/** ExecResult (tools.md §1) plus `vmid` and `shell`. */
export const ResultFields = {
  vmid: Schema.Int,
  shell: Schema.Literal("bash", "sh"),
  exitCode: Schema.NullOr(Schema.Int),
  signal: Schema.NullOr(Schema.String),
  timedOut: Schema.Boolean,
  stdout: Schema.String,
  stderr: Schema.String,
  stdoutBytes: Schema.Int,
  stderrBytes: Schema.Int,
  stdoutTruncated: Schema.Boolean,
  stderrTruncated: Schema.Boolean,
  durationMs: Schema.Number,
  confirmGated: Schema.Boolean,
  heavy: Schema.Boolean,
  heavyReason: Schema.optional(Schema.String),
  notes: Schema.Array(Schema.String),
  opId: Schema.String
} as const

/** The ExecResult fields of a finished run (tools.md §1), shared by the exec tools' outputs. */
export const resultFields = (
  vmid: number,
  result: ExecOutcome,
  confirmGated: boolean,
  classification: Classify.Classification,
  opId: string
) => ({
  vmid,
  shell: result.shell,
  exitCode: result.exitCode,
  signal: result.signal,
  timedOut: result.timedOut,
  stdout: result.stdout,
  stderr: result.stderr,
  stdoutBytes: result.stdoutBytes,
  stderrBytes: result.stderrBytes,
  stdoutTruncated: result.stdoutTruncated,
  stderrTruncated: result.stderrTruncated,
  durationMs: result.durationMs,
  confirmGated,
  heavy: classification.heavy,
  ...(classification.heavyReason !== undefined ? { heavyReason: classification.heavyReason } : {}),
  notes: [...result.notes],
  opId
})

/** The blast radius stated by the confirm gate for a confirm-class command. */
export const confirmPrompt = (vmid: number, command: string, reasons: ReadonlyArray<string>): string =>
  `Running ${JSON.stringify(command.length > 200 ? `${command.slice(0, 200)}…` : command)} in guest ${vmid} needs the user's agreement: ${reasons.join("; ")}. Its effects cannot be reverted by this server.`

/** Proxmox's Windows `ostype` values (pve apidata, `qemu/{vmid}/config`); every other value runs. */
export const WINDOWS_OSTYPES: ReadonlySet<string> = new Set(["wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11"])

/** What the transport returned plus the per-tool extras. */
export interface ExecOutcome extends ExecResult {
  readonly shell: "bash" | "sh"
  readonly notes: ReadonlyArray<string>
}

/**
 * Runs one exec tool call: classify → (deny: audited refusal) → timeout bound → confirm gate (audited
 * refusal) → guest precheck (right type; a Windows VM `ostype` is an audited `UnsupportedGuestOs`
 * refusal; running) → intent → run → outcome.
 */
export const run = <X extends ExecOutcome, R>(
  tool: "pct_exec" | "qm_exec",
  input: typeof Input.Type,
  guestType: Guests.GuestType,
  otherTool: string,
  exec: (timeoutMs: number) => Effect.Effect<X, ToolError, R>
): Effect.Effect<{ readonly result: X; readonly confirmGated: boolean; readonly classification: Classify.Classification; readonly opId: string }, ToolError, R | PveApi | Limits | Confirm | AuditLog> =>
  Effect.gen(function* () {
    const limits = yield* Limits
    const op0 = yield* Guests.beginOp(tool, input.vmid)
    const classification = Classify.classify(input.command, "guest", {
      denyExtra: limits.commandDenyExtra,
      confirmExtra: limits.commandConfirmExtra
    })
    const classified = {
      cmd: input.command,
      classification: { class: classification.class, reasons: [...classification.reasons] },
      heavy: classification.heavy,
      ...(classification.heavyReason !== undefined ? { heavyReason: classification.heavyReason } : {})
    }
    const op1 = { ...op0, base: { ...op0.base, ...classified } }
    if (classification.class === "deny") {
      return yield* Guests.refuse(op1, new CommandDenied({ reasons: [...classification.reasons] }))
    }
    const timeoutMs = input.timeoutMs ?? limits.execDefaultTimeoutMs
    if (timeoutMs > limits.execMaxTimeoutMs) {
      return yield* new InvalidInput({
        reason: `timeoutMs ${timeoutMs} is above MCP_EXEC_MAX_TIMEOUT_MS (${limits.execMaxTimeoutMs}).`,
        key: "timeoutMs"
      })
    }
    let via: ConfirmVia | undefined
    if (classification.class === "confirm") {
      const confirm = yield* Confirm
      via = yield* confirm
        .gate(confirmPrompt(input.vmid, input.command, classification.reasons), input.confirm)
        .pipe(Effect.catchAll((e) => Guests.refuse(op1, e)))
    }
    const guest = yield* Guests.resolveGuest(input.vmid, { type: guestType, useTool: otherTool })
    // a VM's ostype is read alongside its status: a Windows VM is refused before any SSH or agent call,
    // and before its power state (starting it would not help)
    const [status, ostype] = yield* Effect.all(
      [Guests.currentStatus(guest), guest.type === "qemu" ? Guests.vmOstype(guest) : Effect.succeed(undefined)],
      { concurrency: 2 }
    )
    if (ostype !== undefined && WINDOWS_OSTYPES.has(ostype)) {
      return yield* Guests.refuse({ ...op1, base: { ...op1.base, guestType: guest.type } }, new UnsupportedGuestOs({ vmid: input.vmid, ostype }))
    }
    if (status !== "running") return yield* new GuestNotRunning({ vmid: input.vmid, status })
    const op = {
      ...op1,
      base: {
        ...op1.base,
        guestType: guest.type,
        timeoutSecs: Math.max(1, Math.ceil(timeoutMs / 1000)),
        confirmGated: via !== undefined,
        ...(via !== undefined ? { confirmVia: via } : {}),
        isRevertible: false
      }
    }
    const result = yield* Guests.audited(
      op,
      {},
      Effect.flatMap(Guests.withOutcomeOnFailure(op, exec(timeoutMs)), (result) =>
        Effect.map(
          Guests.auditOutcome(op, {
            outcome: result.timedOut && result.exitCode === null ? "unknown" : "ok",
            shell: result.shell,
            exitCode: result.exitCode,
            ...(result.signal !== null ? { signal: result.signal } : {}),
            timedOut: result.timedOut,
            stdoutBytes: result.stdoutBytes,
            stderrBytes: result.stderrBytes,
            durationMs: result.durationMs
          }),
          (unlogged): X => (unlogged === null ? result : { ...result, notes: [...result.notes, unlogged] })
        ))
    )
    return { result, confirmGated: via !== undefined, classification, opId: op.opId }
  })
