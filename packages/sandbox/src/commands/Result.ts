/**
 * Small helpers shared by the sandbox's custom commands: results, quoting, argv parsing, durations.
 */
import type { ExecResult } from "just-bash"

/** Successful result with text stdout. */
export const ok = (stdout = "", stderr = ""): ExecResult => ({ stdout, stderr, exitCode: 0 })

/** Result with an exit code and stderr. */
export const fail = (exitCode: number, stderr: string, stdout = ""): ExecResult => ({ stdout, stderr, exitCode })

/** Result whose stdout is raw bytes (latin1-shaped for just-bash). */
export const bytes = (data: Uint8Array, stderr = "", exitCode = 0): ExecResult => ({
  stdout: Buffer.from(data).toString("latin1"),
  stdoutKind: "bytes",
  stderr,
  exitCode
})

/** Single-quotes one word for a shell (`'` → `'\''`). */
export const quote = (s: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** Quotes an argv into one command line. */
export const argvLine = (argv: ReadonlyArray<string>): string => argv.map(quote).join(" ")

/**
 * GNU duration (`timeout`, `sleep`): a float with an optional `s m h d` suffix; milliseconds, or
 * undefined when invalid.
 */
export const parseDuration = (s: string): number | undefined => {
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd]?)$/.exec(s)
  if (!m) return undefined
  const unit = { "": 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "" | "s" | "m" | "h" | "d"]
  return Number(m[1]) * unit
}

/** Signal names and numbers as `kill -l` knows them. */
export const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  KILL: 9,
  USR1: 10,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  CONT: 18,
  STOP: 19
}

/** Parses `TERM`, `SIGTERM`, `15`; undefined when unknown. */
export const parseSignal = (s: string): number | undefined => {
  if (/^\d+$/.test(s)) return Number(s) < 65 ? Number(s) : undefined
  const name = s.toUpperCase().replace(/^SIG/, "")
  return SIGNALS[name]
}

/** Promise that rejects/resolves when `signal` aborts (never when absent). */
export const aborted = (signal: AbortSignal | undefined): Promise<"aborted"> =>
  new Promise((resolve) => {
    if (!signal) return
    if (signal.aborted) return resolve("aborted")
    signal.addEventListener("abort", () => resolve("aborted"), { once: true })
  })

/** Strict decimal integer or undefined. */
export const int = (s: string | undefined): number | undefined => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined)
