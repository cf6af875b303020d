/**
 * `qm_exec` (tools.md §5): a shell command inside a running QEMU VM through the guest agent
 * (`qm guest exec`); the agent's JSON is authoritative. Classified first, like `pct_exec`. Audited.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { GuestExec } from "@homelab-mcp/core/capabilities/GuestExec"
import * as Exec from "../internal/Exec.js"

/** Input of `qm_exec`. */
export const Input = Exec.Input

/** Output of `qm_exec`: ExecResult plus vmid, shell, the guest pid on timeout and the agent's truncation flags. */
export const Output = Schema.Struct({
  ...Exec.ResultFields,
  pid: Schema.optional(Schema.Int),
  outTruncated: Schema.Boolean,
  errTruncated: Schema.Boolean
})

/** Runs the command in the VM; a timeout returns the guest pid (the agent cannot kill it). */
export const qm_exec = Tool.make(
  {
    name: "qm_exec",
    title: "Run a command in a QEMU VM",
    description:
      "Runs a shell command inside a running QEMU VM through the QEMU guest agent (qm guest exec) and returns exit code, signal, timedOut and output. Needs qemu-guest-agent running in the VM (agent: 1 in its options). Linux and other non-Windows guests only: a VM whose ostype is a Windows one is refused with UnsupportedGuestOs. On timeout the result has timedOut:true, exitCode:null and the guest pid: the agent cannot kill the command, it may still be running. The command is classified on a real shell parse first: destructive commands are refused; reboots, service stops, package removals and dynamic code need the user's agreement (elicitation, or confirm:true reflecting the user's agreement, not the model's). Effects cannot be reverted by this server. Audited.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T F T")
  },
  (input) =>
    Effect.gen(function* () {
      const guestExec = yield* GuestExec
      const { result, confirmGated, classification, opId } = yield* Exec.run("qm_exec", input, "qemu", "pct_exec", (timeoutMs) =>
        guestExec.qmExec({ vmid: input.vmid, command: input.command, timeoutMs, shell: input.shell })
      )
      return {
        ...Exec.resultFields(input.vmid, result, confirmGated, classification, opId),
        ...(result.pid !== null ? { pid: result.pid } : {}),
        outTruncated: result.outTruncated,
        errTruncated: result.errTruncated
      }
    })
)
