/**
 * Commands inside guests (tools.md §5 pct_exec / qm_exec; transport-trust.md §3.3, §4.3). Companion tier.
 * Layers: `@homelab-mcp/transport/GuestExec` (built on `NodeShell`).
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { CommandFailed, GuestAgentUnavailable, GuestNotRunning, InvalidInput, SshError } from "../Errors.js"
import type { ExecResult } from "./NodeShell.js"

/** The requested shell; `auto` = bash if the guest has it, else sh (probe cached per vmid). */
export type ShellChoice = "auto" | "bash" | "sh"

/** One in-guest command. */
export interface GuestExecRequest {
  readonly vmid: number
  /** Shell text, run as `<shell> -c <command>`. */
  readonly command: string
  /** The requested budget; enforced inside the guest where possible. */
  readonly timeoutMs: number
  readonly shell?: ShellChoice
}

/** `pct exec` result: ExecResult plus the shell used and how the timeout was enforced. */
export interface PctExecResult extends ExecResult {
  readonly vmid: number
  readonly shell: "bash" | "sh"
  /** True when the in-guest `timeout -s TERM -k 5` wrapped the command; false when only the node wrapper did. */
  readonly inGuestTimeout: boolean
  /** Plain-language notes (bash fallback to sh, BusyBox or missing `timeout`). */
  readonly notes: ReadonlyArray<string>
}

/** `qm guest exec` result: the agent's JSON is authoritative. */
export interface QmExecResult extends ExecResult {
  readonly vmid: number
  readonly shell: "bash" | "sh"
  /** The guest pid when the agent's timeout returned before the command exited (the agent cannot kill it). */
  readonly pid: number | null
  /** The agent's own truncation flags (`out-truncated`, `err-truncated`). */
  readonly outTruncated: boolean
  readonly errTruncated: boolean
  readonly notes: ReadonlyArray<string>
}

/** Runs shell commands inside LXC containers and QEMU VMs via the node. */
export class GuestExec extends Context.Tag("@homelab-mcp/core/GuestExec")<GuestExec, GuestExec.Service>() {}

export declare namespace GuestExec {
  /** The guest exec service. A non-zero exit is a result; a stopped guest is `GuestNotRunning`. */
  export interface Service {
    /** `pct exec <vmid> -- [timeout -s TERM -k 5 <s>] <shell> -c <command>` inside the node wrapper. */
    readonly pctExec: (
      request: GuestExecRequest
    ) => Effect.Effect<PctExecResult, SshError | InvalidInput | GuestNotRunning | CommandFailed>
    /** `qm guest exec <vmid> --timeout <s> -- <shell> -c <command>`; unparseable output is `CommandFailed`. */
    readonly qmExec: (
      request: GuestExecRequest
    ) => Effect.Effect<QmExecResult, SshError | InvalidInput | GuestNotRunning | GuestAgentUnavailable | CommandFailed>
  }
}
