/**
 * `pct_exec` (tools.md §5): a shell command inside a running LXC container via `pct exec`, classified on a
 * real shell parse first (deny never runs; confirm-class runs only after the confirm gate). Audited.
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Tool from "@homelab-mcp/core/Tool"
import { GuestExec } from "@homelab-mcp/core/capabilities/GuestExec"
import * as Exec from "../internal/Exec.js"

/** Input of `pct_exec`. */
export const Input = Exec.Input

/** Output of `pct_exec`: ExecResult plus vmid, shell and notes. */
export const Output = Schema.Struct({ ...Exec.ResultFields, inGuestTimeout: Schema.Boolean })

/** Runs the command in the container; a non-zero exit is a result, not an error. */
export const pct_exec = Tool.make(
  {
    name: "pct_exec",
    title: "Run a command in an LXC container",
    description:
      "Runs a shell command inside a running LXC container (pct exec) as root and returns exit code, signal, timedOut, and stdout/stderr (each capped at MCP_EXEC_OUTPUT_MAX_BYTES with the true byte counts). The command is classified on a real shell parse before anything runs: destructive commands (disk wipes, recursive deletes of system directories, fork bombs…) are refused; reboots, service stops, package removals and dynamic code (curl | sh, eval) need the user's agreement (elicitation, or confirm:true reflecting the user's agreement, not the model's). A non-zero exit is a result. Effects of commands cannot be reverted by this server. shell: auto picks bash when the guest has it, else sh. Audited.",
    tier: "companion",
    input: Input,
    output: Output,
    annotations: Tool.annotations("F T F T")
  },
  (input) =>
    Effect.gen(function* () {
      const guestExec = yield* GuestExec
      const { result, confirmGated, classification, opId } = yield* Exec.run("pct_exec", input, "lxc", "qm_exec", (timeoutMs) =>
        guestExec.pctExec({ vmid: input.vmid, command: input.command, timeoutMs, shell: input.shell })
      )
      return {
        ...Exec.resultFields(input.vmid, result, confirmGated, classification, opId),
        inGuestTimeout: result.inGuestTimeout
      }
    })
)
