/**
 * `guest_stop` (tools.md §4): hard stop, or graceful shutdown with a timeout. Always confirm-gated
 * (guardrails.md §2), and the gate runs before any node contact. A stopped guest is a no-op.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { InvalidInput, TaskFailed } from "@homelab-mcp/core/Errors"
import * as Tool from "@homelab-mcp/core/Tool"
import { Confirm } from "@homelab-mcp/core/capabilities/Confirm"
import * as Guests from "../internal/Guests.js"

/** Input of `guest_stop`. */
export const Input = Schema.Struct({
  vmid: Guests.Vmid,
  confirm: Schema.optionalWith(Schema.Boolean, { default: () => false }).annotations({
    description: "Must reflect the user's agreement, not the model's."
  }),
  graceful: Schema.optionalWith(Schema.Boolean, { default: () => false }),
  shutdownTimeoutSecs: Schema.optional(Schema.Int.pipe(Schema.between(10, 600)))
})

/** Output of `guest_stop`. */
export const Output = Schema.Struct({
  ...Guests.PowerFields,
  alreadyStopped: Schema.Boolean,
  mode: Schema.Literal("hard", "graceful")
})

/** The blast radius the confirm gate states. */
export const stopPrompt = (vmid: number, graceful: boolean, timeoutSecs: number): string =>
  graceful
    ? `Shut down guest ${vmid} gracefully (up to ${timeoutSecs} s): its services stop and stay down until it is started again.`
    : `Hard stop of guest ${vmid}: an immediate power-off, like pulling the plug. Unsaved data inside the guest can be lost and its services stay down until it is started again. Consider graceful:true (clean shutdown) or guest_restart instead.`

/** Stops the guest after the confirm gate; audited refused / intent → outcome. */
export const guest_stop = Tool.make(
  {
    name: "guest_stop",
    title: "Stop a guest",
    description:
      "Stops an LXC container or QEMU VM by vmid: a hard stop (immediate power-off, can lose unsaved data) or, with graceful:true, a clean shutdown bounded by shutdownTimeoutSecs (10..600, default 60). Always needs the user's agreement: via an elicitation prompt when the client supports it, else confirm:true, which must reflect the user's agreement, not the model's. A stopped guest is a no-op (alreadyStopped:true). Audited.",
    tier: "operate",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T T F")
  },
  (input) =>
    Effect.gen(function* () {
      if (input.shutdownTimeoutSecs !== undefined && !input.graceful) {
        return yield* new InvalidInput({
          reason: "shutdownTimeoutSecs applies only with graceful:true.",
          key: "shutdownTimeoutSecs",
          accepted: ["vmid", "confirm", "graceful", "shutdownTimeoutSecs"]
        })
      }
      const timeoutSecs = input.shutdownTimeoutSecs ?? 60
      const mode = input.graceful ? ("graceful" as const) : ("hard" as const)
      const op0 = yield* Guests.beginOp("guest_stop", input.vmid)
      const confirm = yield* Confirm
      const via = yield* confirm
        .gate(stopPrompt(input.vmid, input.graceful, timeoutSecs), input.confirm)
        .pipe(Effect.catchAll((e) => Guests.refuse(op0, e)))
      const guest = yield* Guests.resolveGuest(input.vmid)
      const op = { ...op0, base: { ...op0.base, guestType: guest.type, confirmGated: true, confirmVia: via } }
      const before = yield* Guests.currentStatus(guest)
      if (before === "stopped") {
        const durationMs = yield* Guests.elapsed(op)
        yield* Guests.auditOutcome(op, { outcome: "noop", durationMs, note: "already stopped" })
        return { vmid: guest.vmid, guestType: guest.type, upid: null, taskStatus: null, status: before, durationMs, opId: op.opId, alreadyStopped: true, mode }
      }
      return yield* Guests.audited(
        op,
        { note: `${mode} stop (was ${before})${input.graceful ? `, timeout ${timeoutSecs} s` : ""}` },
        Effect.gen(function* () {
          const { upid, outcome, status } = yield* Guests.withOutcomeOnFailure(
            op,
            Effect.gen(function* () {
              const upid = input.graceful
                ? yield* Guests.postPower(guest, "shutdown", { timeout: timeoutSecs, forceStop: 0 })
                : yield* Guests.postPower(guest, "stop")
              const outcome = yield* Guests.waitTask(upid, `stopping ${guest.vmid}`).pipe(
                Effect.catchTag("TaskFailed", (e) =>
                  Effect.fail(
                    input.graceful
                      ? new TaskFailed({
                          upid: e.upid,
                          exitstatus: e.exitstatus,
                          logTail: e.logTail,
                          advice: `The guest did not shut down cleanly within ${timeoutSecs} s; a hard stop (graceful:false, with the user's agreement) powers it off immediately.`
                        })
                      : e
                  )
                )
              )
              const status = yield* Guests.currentStatus(guest)
              return { upid, outcome, status }
            })
          )
          const durationMs = yield* Guests.elapsed(op)
          yield* Guests.auditOutcome(op, { outcome: "ok", upid, taskStatus: outcome.exitstatus, durationMs })
          return { vmid: guest.vmid, guestType: guest.type, upid, taskStatus: outcome.exitstatus, status, durationMs, opId: op.opId, alreadyStopped: false, mode }
        })
      )
    })
)
