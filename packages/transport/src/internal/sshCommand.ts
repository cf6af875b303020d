/**
 * Pure pieces of remote command execution (transport-trust.md §3.3): the node `timeout` wrapper, nested
 * budgets and the truthful `timedOut` rule.
 */
import { quoteArgv } from "@homelab-mcp/core/shell/Quote"

/** `--kill-after` of every `timeout` wrapper, in seconds. */
export const KILL_AFTER_SECONDS = 5

/** `secs = max(1, ceil(ms / 1000))`. */
export const secondsOf = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/** The node wrapper budget: the requested one, or requested + 5 s when an inner layer enforces the request. */
export const wrapperMs = (requestedMs: number, nested: boolean): number =>
  nested ? requestedMs + KILL_AFTER_SECONDS * 1000 : requestedMs

/** The client backstop: the wrapper's whole seconds plus `SSH_COMMAND_TIMEOUT_GRACE_MS`. */
export const backstopMs = (wrapper: number, graceMs: number): number => secondsOf(wrapper) * 1000 + graceMs

/** `timeout --signal=TERM --kill-after=5 <secs> <argv…>`, every element quoted. */
export const wrapArgv = (argv: ReadonlyArray<string>, wrapper: number): string =>
  quoteArgv(["timeout", "--signal=TERM", `--kill-after=${KILL_AFTER_SECONDS}`, String(secondsOf(wrapper)), ...argv])

/**
 * `timedOut` only when a timeout layer could have ended it and the requested time elapsed: GNU `timeout`'s
 * 124, a command killed by its TERM or KILL as a shell reports it (143, 137: BusyBox `timeout` in Alpine
 * guests leaves the TERM-killed command's 143), or a signal.
 */
export const isTimedOut = (
  exitCode: number | null,
  signal: string | null,
  elapsedMs: number,
  requestedMs: number
): boolean => (exitCode === 124 || exitCode === 137 || exitCode === 143 || signal !== null) && elapsedMs >= requestedMs
